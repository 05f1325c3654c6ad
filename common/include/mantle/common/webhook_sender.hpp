// One webhook URL: a bounded queue of JSON documents and the thread that
// posts them in order, retrying with exponential backoff. Used by the
// webhook hook module (hooks/webhook) and mantle-cron's job notifications.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mantle::webhook {

struct SenderOptions {
  std::vector<std::string> headers;  // "Name: value"
  std::size_t queueCapacity = 1000;
  int maxAttempts = 10;  // per event; 0: until delivered
  std::chrono::milliseconds initialBackoff{100};
  std::chrono::milliseconds maxBackoff{30000};
  std::chrono::milliseconds requestTimeout{5000};
  std::chrono::milliseconds connectTimeout{2000};
};

struct SenderMetrics {
  std::uint64_t sent = 0;     // events the URL accepted (2xx)
  std::uint64_t failed = 0;   // events given up on (attempts exhausted, or a 4xx answer)
  std::uint64_t dropped = 0;  // events refused because the queue was full, or left at shutdown
  std::uint64_t retries = 0;  // attempts that failed and were retried
  std::uint64_t queued = 0;   // events waiting now
};

class UrlSender {
 public:
  using Log = std::function<void(bool warning, const std::string& message)>;

  UrlSender(std::string url, SenderOptions options, Log log, std::function<void()> changed);
  // Aborts the request in flight and joins the thread; what is still queued
  // counts as dropped. Idempotent; the destructor calls it.
  void stop();
  ~UrlSender();
  UrlSender(const UrlSender&) = delete;
  UrlSender& operator=(const UrlSender&) = delete;

  // Never blocks: false (and counted as dropped) when the queue is full.
  bool enqueue(std::shared_ptr<const std::string> document);

  const std::string& url() const { return url_; }
  SenderMetrics metrics() const;

 private:
  enum class Outcome { kSent, kRetry, kGiveUp };
  void run();
  // One attempt with `handle` (a CURL*).
  Outcome post(void* handle, const std::string& document, std::string& why);
  // Sleeps `delay` unless stopped first; false when stopped.
  bool pause(std::chrono::milliseconds delay);
  std::chrono::milliseconds backoff(int failures);
  void countDropped(std::uint64_t count);

  const std::string url_;
  const SenderOptions options_;
  const Log log_;
  const std::function<void()> changed_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  SenderMetrics metrics_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace mantle::webhook
