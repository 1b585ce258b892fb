// Conformance test for proto/temporal and proto/google/rpc/status.proto: every message, field, enum
// value and rpc we declare must exist in Temporal's upstream API with the same name, number, type,
// label, type name and file. Upstream is read from a FileDescriptorSet built by protoc from the
// @temporalio/core-bridge 1.24.0 protos (see tests/proto/CMakeLists.txt); our side is the
// descriptor pool compiled into reprise_proto.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace pb = google::protobuf;

// Relative paths of our .proto files, written by CMake from a glob of proto/temporal.
const std::vector<std::string> kOurFiles = {
#include "reprise_proto_files.inc"
};

std::string descriptor_set_path() {
  if (const char* env = std::getenv("REPRISE_UPSTREAM_DESCRIPTOR_SET"); env && *env) return env;
  return REPRISE_UPSTREAM_DESCRIPTOR_SET;
}

// Upstream pool, built once from the descriptor set.
const pb::DescriptorPool& upstream_pool() {
  static std::unique_ptr<pb::DescriptorPool> pool = [] {
    const std::string path = descriptor_set_path();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open upstream descriptor set " + path);
    pb::FileDescriptorSet set;
    if (!set.ParseFromIstream(&in)) throw std::runtime_error("cannot parse " + path);
    auto p = std::make_unique<pb::DescriptorPool>();
    // --include_imports writes files in dependency order, so each BuildFile finds its imports.
    for (const auto& file : set.file()) {
      if (p->BuildFile(file) == nullptr) throw std::runtime_error("cannot build upstream file " + file.name());
    }
    return p;
  }();
  return *pool;
}

const char* label_name(pb::FieldDescriptor::Label l) {
  switch (l) {
    case pb::FieldDescriptor::LABEL_OPTIONAL:
      return "optional";
    case pb::FieldDescriptor::LABEL_REQUIRED:
      return "required";
    case pb::FieldDescriptor::LABEL_REPEATED:
      return "repeated";
  }
  return "?";
}

// "int64", ".temporal.api.common.v1.Payloads", "map<...>" entry name, etc.
std::string type_string(const pb::FieldDescriptor* f) {
  if (f->message_type() != nullptr) return "message " + f->message_type()->full_name();
  if (f->enum_type() != nullptr) return "enum " + f->enum_type()->full_name();
  return f->type_name();
}

std::string oneof_name(const pb::FieldDescriptor* f) {
  const pb::OneofDescriptor* o = f->real_containing_oneof();
  return o == nullptr ? std::string("-") : o->name();
}

// Collects every difference between our descriptors and upstream's.
class Checker {
 public:
  explicit Checker(const pb::DescriptorPool& upstream) : up_(upstream) {}

  void check_file(const pb::FileDescriptor* ours) {
    const pb::FileDescriptor* theirs = up_.FindFileByName(ours->name());
    if (theirs == nullptr) {
      add(ours->name() + ": no upstream file with this path");
    } else if (theirs->package() != ours->package()) {
      add(ours->name() + ": package " + ours->package() + ", upstream " + theirs->package());
    }
    for (int i = 0; i < ours->message_type_count(); ++i) check_message(ours->message_type(i));
    for (int i = 0; i < ours->enum_type_count(); ++i) check_enum(ours->enum_type(i));
    for (int i = 0; i < ours->service_count(); ++i) check_service(ours->service(i));
  }

  const std::vector<std::string>& mismatches() const { return mismatches_; }
  int messages() const { return messages_; }
  int fields() const { return fields_; }
  int enum_values() const { return enum_values_; }
  int methods() const { return methods_; }

 private:
  void add(std::string s) { mismatches_.push_back(std::move(s)); }

  void check_message(const pb::Descriptor* ours) {
    ++messages_;
    const pb::Descriptor* theirs = up_.FindMessageTypeByName(ours->full_name());
    if (theirs == nullptr) {
      add("message " + ours->full_name() + ": not found upstream");
      return;
    }
    if (theirs->file()->name() != ours->file()->name()) {
      add("message " + ours->full_name() + ": declared in " + ours->file()->name() + ", upstream in " +
          theirs->file()->name());
    }
    for (int i = 0; i < ours->field_count(); ++i) check_field(ours->field(i), theirs);
    for (int i = 0; i < ours->nested_type_count(); ++i) check_message(ours->nested_type(i));
    for (int i = 0; i < ours->enum_type_count(); ++i) check_enum(ours->enum_type(i));
  }

  void check_field(const pb::FieldDescriptor* ours, const pb::Descriptor* their_msg) {
    ++fields_;
    const std::string where = "field " + ours->full_name();
    const pb::FieldDescriptor* theirs = their_msg->FindFieldByName(ours->name());
    if (theirs == nullptr) {
      std::string hint;
      if (const auto* by_num = their_msg->FindFieldByNumber(ours->number()))
        hint = " (upstream number " + std::to_string(ours->number()) + " is '" + by_num->name() + "')";
      add(where + ": no upstream field with this name" + hint);
      return;
    }
    if (theirs->number() != ours->number())
      add(where + ": number " + std::to_string(ours->number()) + ", upstream " + std::to_string(theirs->number()));
    if (type_string(theirs) != type_string(ours))
      add(where + ": type " + type_string(ours) + ", upstream " + type_string(theirs));
    if (theirs->label() != ours->label())
      add(where + ": label " + label_name(ours->label()) + ", upstream " + label_name(theirs->label()));
    if (theirs->has_optional_keyword() != ours->has_optional_keyword())
      add(where + ": proto3 'optional' differs from upstream");
    if (oneof_name(theirs) != oneof_name(ours))
      add(where + ": oneof " + oneof_name(ours) + ", upstream " + oneof_name(theirs));
  }

  void check_enum(const pb::EnumDescriptor* ours) {
    const pb::EnumDescriptor* theirs = up_.FindEnumTypeByName(ours->full_name());
    if (theirs == nullptr) {
      add("enum " + ours->full_name() + ": not found upstream");
      return;
    }
    if (theirs->file()->name() != ours->file()->name()) {
      add("enum " + ours->full_name() + ": declared in " + ours->file()->name() + ", upstream in " +
          theirs->file()->name());
    }
    for (int i = 0; i < ours->value_count(); ++i) {
      ++enum_values_;
      const pb::EnumValueDescriptor* v = ours->value(i);
      const pb::EnumValueDescriptor* tv = theirs->FindValueByName(v->name());
      if (tv == nullptr) {
        add("enum value " + ours->full_name() + "." + v->name() + ": not found upstream");
      } else if (tv->number() != v->number()) {
        add("enum value " + ours->full_name() + "." + v->name() + ": number " + std::to_string(v->number()) +
            ", upstream " + std::to_string(tv->number()));
      }
    }
  }

  void check_service(const pb::ServiceDescriptor* ours) {
    const pb::ServiceDescriptor* theirs = up_.FindServiceByName(ours->full_name());
    if (theirs == nullptr) {
      add("service " + ours->full_name() + ": not found upstream");
      return;
    }
    for (int i = 0; i < ours->method_count(); ++i) {
      ++methods_;
      const pb::MethodDescriptor* m = ours->method(i);
      const pb::MethodDescriptor* tm = theirs->FindMethodByName(m->name());
      const std::string where = "rpc " + m->full_name();
      if (tm == nullptr) {
        add(where + ": not found upstream");
        continue;
      }
      if (tm->input_type()->full_name() != m->input_type()->full_name())
        add(where + ": request " + m->input_type()->full_name() + ", upstream " + tm->input_type()->full_name());
      if (tm->output_type()->full_name() != m->output_type()->full_name())
        add(where + ": response " + m->output_type()->full_name() + ", upstream " + tm->output_type()->full_name());
      if (tm->client_streaming() != m->client_streaming() || tm->server_streaming() != m->server_streaming())
        add(where + ": streaming mode differs from upstream");
    }
  }

  const pb::DescriptorPool& up_;
  std::vector<std::string> mismatches_;
  int messages_ = 0, fields_ = 0, enum_values_ = 0, methods_ = 0;
};

std::string join(const std::vector<std::string>& lines) {
  std::ostringstream out;
  out << lines.size() << " mismatch(es) with upstream:\n";
  for (const auto& l : lines) out << "  - " << l << "\n";
  return out.str();
}

// Our files as compiled into reprise_proto; missing ones are reported, not skipped.
std::vector<const pb::FileDescriptor*> our_files(std::vector<std::string>& missing) {
  std::vector<const pb::FileDescriptor*> files;
  for (const auto& name : kOurFiles) {
    const pb::FileDescriptor* f = pb::DescriptorPool::generated_pool()->FindFileByName(name);
    if (f == nullptr) {
      missing.push_back(name);
    } else {
      files.push_back(f);
    }
  }
  return files;
}

// Copies `file` and everything it imports into `pool` (for the self-test below).
void copy_with_deps(const pb::FileDescriptor* file, pb::DescriptorPool& pool, std::set<std::string>& done,
                    const std::string& mutate_name, void (*mutate)(pb::FileDescriptorProto&)) {
  if (done.count(file->name()) != 0) return;
  for (int i = 0; i < file->dependency_count(); ++i)
    copy_with_deps(file->dependency(i), pool, done, mutate_name, mutate);
  pb::FileDescriptorProto proto;
  file->CopyTo(&proto);
  if (file->name() == mutate_name) mutate(proto);
  REQUIRE(pool.BuildFile(proto) != nullptr);
  done.insert(file->name());
}

}  // namespace

TEST_CASE("every proto file under proto/temporal and proto/google/rpc is compiled into reprise_proto", "[proto]") {
  std::vector<std::string> missing;
  our_files(missing);
  std::string list;
  for (const auto& m : missing) list += "  " + m + "\n";
  INFO(missing.size() << " file(s) not found in the generated pool (not linked?):\n" << list);
  CHECK(kOurFiles.size() > 10);
  CHECK(missing.empty());
}

TEST_CASE("proto/temporal matches Temporal's upstream API", "[proto]") {
  std::vector<std::string> missing;
  const auto files = our_files(missing);
  Checker checker(upstream_pool());
  for (const auto* f : files) checker.check_file(f);

  INFO("checked " << files.size() << " files, " << checker.messages() << " messages, " << checker.fields()
                  << " fields, " << checker.enum_values() << " enum values, " << checker.methods() << " rpcs");
  if (!checker.mismatches().empty()) std::cerr << join(checker.mismatches());  // unwrapped copy
  INFO(join(checker.mismatches()));
  CHECK(checker.mismatches().empty());
  // Guard against a vacuous pass (e.g. an empty file list).
  CHECK(checker.messages() > 100);
  CHECK(checker.methods() >= 29);
}

TEST_CASE("the checker reports a changed field number", "[proto]") {
  // Rebuild our common/v1 file with WorkflowExecution.run_id renumbered; the checker must report
  // exactly that one extra mismatch compared with the unmodified file.
  const std::string target = "temporal/api/common/v1/message.proto";
  const pb::FileDescriptor* ours = pb::DescriptorPool::generated_pool()->FindFileByName(target);
  REQUIRE(ours != nullptr);

  Checker baseline(upstream_pool());
  baseline.check_file(ours);

  pb::DescriptorPool scratch;
  std::set<std::string> done;
  copy_with_deps(ours, scratch, done, target, [](pb::FileDescriptorProto& proto) {
    for (auto& msg : *proto.mutable_message_type()) {
      if (msg.name() != "WorkflowExecution") continue;
      for (auto& field : *msg.mutable_field())
        if (field.name() == "run_id") field.set_number(7);
    }
  });
  Checker mutated(upstream_pool());
  mutated.check_file(scratch.FindFileByName(target));

  const std::string expected = "field temporal.api.common.v1.WorkflowExecution.run_id: number 7, upstream 2";
  INFO(join(mutated.mismatches()));
  CHECK(mutated.mismatches().size() == baseline.mismatches().size() + 1);
  CHECK(std::find(mutated.mismatches().begin(), mutated.mismatches().end(), expected) != mutated.mismatches().end());
}
