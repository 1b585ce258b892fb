// Task queues and long-poll pollers (see matching.h). Exercised by tests/engine/matching_test.cpp.
#include "matching.h"

#include <boost/asio/post.hpp>
#include <utility>

namespace reprise::engine {

Matching::PollerId Matching::poll(const QueueKey& queue, std::chrono::steady_clock::time_point deadline,
                                  Deliver deliver, std::string identity) {
  std::unique_lock lock(mu_);
  PollerId id = next_id_++;
  if (shut_down_) {
    lock.unlock();
    boost::asio::post(pool_, [deliver = std::move(deliver)] { deliver(std::nullopt); });
    return id;
  }
  auto& q = queues_[queue];
  if (!q.backlog.empty()) {
    TaskRow task = std::move(q.backlog.front());
    q.backlog.pop_front();
    lock.unlock();
    boost::asio::post(pool_, [deliver = std::move(deliver), task = std::move(task)] { deliver(task); });
    return id;
  }
  auto parked = std::make_shared<Parked>(
      Parked{id, std::move(deliver), std::make_unique<boost::asio::steady_timer>(io_, deadline), std::move(identity)});
  q.pollers.push_back(parked);
  parked_on_[id] = queue;
  // The handler holds the Parked (and so its timer) alive until it has run.
  parked->timer->async_wait([this, id, parked](const boost::system::error_code& ec) {
    if (ec) return;  // canceled: the poller got a task or was removed
    if (auto p = take_parked(id)) boost::asio::post(pool_, [p] { p->deliver(std::nullopt); });
  });
  return id;
}

std::shared_ptr<Matching::Parked> Matching::take_parked(PollerId id) {
  std::lock_guard lock(mu_);
  auto it = parked_on_.find(id);
  if (it == parked_on_.end()) return nullptr;
  auto& pollers = queues_[it->second].pollers;
  parked_on_.erase(it);
  for (auto p = pollers.begin(); p != pollers.end(); ++p) {
    if ((*p)->id == id) {
      auto parked = *p;
      pollers.erase(p);
      return parked;
    }
  }
  return nullptr;
}

void Matching::cancel(PollerId id) {
  if (auto p = take_parked(id)) {
    cancel_timer(p);
    boost::asio::post(pool_, [p] { p->deliver(std::nullopt); });
  }
}

void Matching::cancel_timer(const std::shared_ptr<Parked>& p) {
  // Timers are touched only on the io thread: Asio objects are not safe for concurrent calls.
  boost::asio::post(io_, [p] { p->timer->cancel(); });
}

void Matching::add_task(const QueueKey& queue, const TaskRow& task) {
  std::unique_lock lock(mu_);
  auto& q = queues_[queue];
  if (q.pollers.empty()) {
    q.backlog.push_back(task);
    return;
  }
  auto parked = q.pollers.front();
  q.pollers.pop_front();
  parked_on_.erase(parked->id);
  lock.unlock();
  hand_over(std::move(parked), task);
}

void Matching::hand_over(std::shared_ptr<Parked> parked, std::optional<TaskRow> task) {
  cancel_timer(parked);
  boost::asio::post(pool_, [parked = std::move(parked), task = std::move(task)] { parked->deliver(task); });
}

std::unique_ptr<Matching::Claim> Matching::claim(const QueueKey& queue) {
  std::lock_guard lock(mu_);
  if (shut_down_) return nullptr;
  auto it = queues_.find(queue);
  if (it == queues_.end() || it->second.pollers.empty()) return nullptr;
  auto parked = it->second.pollers.front();
  it->second.pollers.pop_front();
  parked_on_.erase(parked->id);  // its deadline timer now finds nothing to end
  return std::unique_ptr<Claim>(new Claim(*this, std::move(parked)));
}

Matching::Claim::~Claim() {
  if (parked_) matching_.hand_over(std::move(parked_), std::nullopt);
}

const std::string& Matching::Claim::identity() const { return parked_->identity; }

void Matching::Claim::deliver(TaskRow task) { matching_.hand_over(std::exchange(parked_, nullptr), std::move(task)); }

void Matching::shutdown() {
  std::vector<std::shared_ptr<Parked>> all;
  {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    for (auto& [key, q] : queues_) {
      for (auto& p : q.pollers) all.push_back(p);
      q.pollers.clear();
    }
    parked_on_.clear();
  }
  for (auto& p : all) {
    cancel_timer(p);
    boost::asio::post(pool_, [p] { p->deliver(std::nullopt); });
  }
}

size_t Matching::backlog_size(const QueueKey& queue) {
  std::lock_guard lock(mu_);
  auto it = queues_.find(queue);
  return it == queues_.end() ? 0 : it->second.backlog.size();
}

size_t Matching::parked_pollers(const QueueKey& queue) {
  std::lock_guard lock(mu_);
  auto it = queues_.find(queue);
  return it == queues_.end() ? 0 : it->second.pollers.size();
}

}  // namespace reprise::engine
