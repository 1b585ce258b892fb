// Short names for the protobuf types the engine uses on every line. Temporal's generated names are
// long (temporal::api::history::v1::HistoryEvent); the aliases keep engine code readable.
#pragma once

#include "reprise/internal/v1/state.pb.h"
#include "temporal/api/command/v1/message.pb.h"
#include "temporal/api/common/v1/message.pb.h"
#include "temporal/api/enums/v1/event_type.pb.h"
#include "temporal/api/enums/v1/failed_cause.pb.h"
#include "temporal/api/enums/v1/workflow.pb.h"
#include "temporal/api/failure/v1/message.pb.h"
#include "temporal/api/history/v1/message.pb.h"
#include "temporal/api/taskqueue/v1/message.pb.h"

namespace reprise::engine {

namespace api = temporal::api;
namespace enums = temporal::api::enums::v1;

using HistoryEvent = api::history::v1::HistoryEvent;
using EventType = enums::EventType;
using Command = api::command::v1::Command;
using ActivityTaskScheduledEventAttributes = api::history::v1::ActivityTaskScheduledEventAttributes;
using ContinueAsNewAttributes = api::command::v1::ContinueAsNewWorkflowExecutionCommandAttributes;
using Failure = api::failure::v1::Failure;
using Payloads = api::common::v1::Payloads;
using RetryPolicy = api::common::v1::RetryPolicy;
using TaskQueue = api::taskqueue::v1::TaskQueue;
using MutableState = reprise::internal::v1::MutableState;
using ActivityInfo = reprise::internal::v1::ActivityInfo;
using WorkflowTaskInfo = reprise::internal::v1::WorkflowTaskInfo;
using TaskToken = reprise::internal::v1::TaskToken;

}  // namespace reprise::engine
