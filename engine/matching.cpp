// Task queues and long-poll pollers (see matching.h). Exercised by tests/engine/matching_test.cpp.
#include "matching.h"

#include <boost/asio/post.hpp>
#include <utility>

namespace reprise::engine {

Matching::PollerId Matching::poll(const QueueKey& queue, std::chrono::steady_clock::time_point deadline,
                                  Deliver deliver, std::string identity, Answer answer) {
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
  q.pollers.push_back(std::make_shared<Parked>(Parked{id, std::move(deliver), std::move(identity), std::move(answer)}));
  parked_on_[id] = ParkedOn{queue, deadlines_.emplace(deadline, id)};
  const bool rearm = deadline < armed_for_;
  if (rearm) armed_for_ = deadline;
  lock.unlock();
  if (rearm) boost::asio::post(io_, [this] { expire_due(); });
  return id;
}

void Matching::expire_due() {
  std::vector<std::shared_ptr<Parked>> expired;
  SteadyTime next;
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      const PollerId id = deadlines_.begin()->second;
      auto parked_on = parked_on_.find(id);
      if (parked_on == parked_on_.end()) {  // only if poll() was cut short (bad_alloc)
        deadlines_.erase(deadlines_.begin());
        continue;
      }
      auto& pollers = queues_[parked_on->second.queue].pollers;
      for (auto p = pollers.begin(); p != pollers.end(); ++p)
        if ((*p)->id == id) {
          expired.push_back(*p);
          pollers.erase(p);
          break;
        }
      unpark(id);
    }
    next = armed_for_ = deadlines_.empty() ? SteadyTime::max() : deadlines_.begin()->first;
  }
  for (auto& p : expired) boost::asio::post(pool_, [p] { p->deliver(std::nullopt); });
  if (next == SteadyTime::max()) return;
  wake_.expires_at(next);  // cancels the wait armed before, if any
  wake_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) expire_due();
  });
}

void Matching::unpark(PollerId id) {
  auto it = parked_on_.find(id);
  if (it == parked_on_.end()) return;
  deadlines_.erase(it->second.deadline);
  parked_on_.erase(it);
}

std::shared_ptr<Matching::Parked> Matching::take_parked(PollerId id) {
  std::lock_guard lock(mu_);
  auto it = parked_on_.find(id);
  if (it == parked_on_.end()) return nullptr;
  auto& pollers = queues_[it->second.queue].pollers;
  unpark(id);
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
  if (auto p = take_parked(id)) boost::asio::post(pool_, [p] { p->deliver(std::nullopt); });
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
  unpark(parked->id);
  lock.unlock();
  hand_over(std::move(parked), task);
}

void Matching::hand_over(std::shared_ptr<Parked> parked, std::optional<TaskRow> task) {
  boost::asio::post(pool_, [parked = std::move(parked), task = std::move(task)] { parked->deliver(task); });
}

std::unique_ptr<Matching::Claim> Matching::claim(const QueueKey& queue) {
  std::lock_guard lock(mu_);
  if (shut_down_) return nullptr;
  auto it = queues_.find(queue);
  if (it == queues_.end() || it->second.pollers.empty() || !it->second.pollers.front()->answer) return nullptr;
  auto parked = it->second.pollers.front();
  it->second.pollers.pop_front();
  unpark(parked->id);
  return std::unique_ptr<Claim>(new Claim(*this, std::move(parked)));
}

Matching::Claim::~Claim() {
  if (parked_) matching_.hand_over(std::move(parked_), std::nullopt);
}

const std::string& Matching::Claim::identity() const { return parked_->identity; }

void Matching::Claim::answer(std::any response) { std::exchange(parked_, nullptr)->answer(std::move(response)); }

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
    deadlines_.clear();
  }
  boost::asio::post(io_, [this] { wake_.cancel(); });  // Asio objects are touched on the io thread only
  for (auto& p : all) boost::asio::post(pool_, [p] { p->deliver(std::nullopt); });
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
