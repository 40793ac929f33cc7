// The last state this instance committed for each of its recent calls, with its version: update() applies a
// change to it and commits with that version without loading it first. The store stays the truth: a commit on
// a state another instance has moved on from fails its compare-and-set and brings the stored state back with
// it, so a stale entry costs no extra round trip. Bounded (least recently used out); one io thread, no lock.
#pragma once
#include "app/ports/call_store_port.hpp"

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace dp::app {

class CallCache {
 public:
  explicit CallCache(std::size_t capacity) : capacity_(capacity) {}

  std::optional<CallStorePort::Versioned> get(const std::string& sid) {
    auto it = index_.find(sid);
    if (it == index_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }

  void put(const std::string& sid, CallStorePort::Versioned v) {
    if (capacity_ == 0) return;
    auto it = index_.find(sid);
    if (it != index_.end()) {
      // Never step back: a slower writer of this instance may finish after a newer commit was cached.
      if (it->second->second.version > v.version) return;
      it->second->second = std::move(v);
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(sid, std::move(v));
    index_.emplace(sid, order_.begin());
    if (index_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  void erase(const std::string& sid) {
    auto it = index_.find(sid);
    if (it == index_.end()) return;
    order_.erase(it->second);
    index_.erase(it);
  }

  std::size_t size() const { return index_.size(); }

 private:
  using Entry = std::pair<std::string, CallStorePort::Versioned>;
  std::size_t capacity_;
  std::list<Entry> order_;
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace dp::app
