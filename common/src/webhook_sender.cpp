#include "mantle/common/webhook_sender.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <random>
#include <utility>

namespace mantle::webhook {

namespace {

std::size_t discardBody(char*, std::size_t size, std::size_t count, void*) {
  return size * count;
}

int abortWhenStopping(void* stopping, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(stopping)->load() ? 1 : 0;
}

// Logs the 1st, 2nd, 4th, 8th, ... occurrence, so that a dead URL does not
// flood the host's log.
bool worthLogging(std::uint64_t count) {
  return count != 0 && (count & (count - 1)) == 0;
}

}  // namespace

UrlSender::UrlSender(std::string url, SenderOptions options, Log log, std::function<void()> changed)
    : url_(std::move(url)), options_(std::move(options)), log_(std::move(log)), changed_(std::move(changed)) {
  thread_ = std::thread([this] { run(); });
}

UrlSender::~UrlSender() {
  stop();
}

void UrlSender::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (!thread_.joinable()) return;
  thread_.join();
  std::uint64_t left = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    left = queue_.size();
    queue_.clear();
    metrics_.queued = 0;
    metrics_.dropped += left;
  }
  if (left > 0)
    log_(true, url_ + ": " + std::to_string(left) + " event(s) not delivered at shutdown (counted as dropped)");
}

bool UrlSender::enqueue(std::shared_ptr<const std::string> document) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_ && queue_.size() < options_.queueCapacity) {
      queue_.push_back(std::move(document));
      metrics_.queued = queue_.size();
      wake_.notify_all();
      return true;
    }
  }
  countDropped(1);
  return false;
}

void UrlSender::countDropped(std::uint64_t count) {
  std::uint64_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    metrics_.dropped += count;
    dropped = metrics_.dropped;
  }
  if (worthLogging(dropped)) {
    log_(true, url_ + ": queue full (" + std::to_string(options_.queueCapacity) + " events); " +
                   std::to_string(dropped) + " event(s) dropped so far");
  }
  changed_();
}

SenderMetrics UrlSender::metrics() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return metrics_;
}

std::chrono::milliseconds UrlSender::backoff(int failures) {
  // Exponential, capped, with the upper half jittered so that many agents
  // retrying against one receiver spread out.
  std::int64_t delay = options_.initialBackoff.count();
  for (int i = 1; i < failures && delay < options_.maxBackoff.count(); ++i) delay *= 2;
  delay = std::min<std::int64_t>(delay, options_.maxBackoff.count());
  static thread_local std::mt19937_64 random(std::random_device{}());
  const std::int64_t half = delay / 2;
  std::uniform_int_distribution<std::int64_t> jitter(0, half);
  return std::chrono::milliseconds(delay - half + jitter(random));
}

bool UrlSender::pause(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !wake_.wait_for(lock, delay, [this] { return stopping_.load(); });
}

void UrlSender::run() {
  CURL* curl = curl_easy_init();
  for (;;) {
    std::shared_ptr<const std::string> document;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      document = queue_.front();  // stays queued (and counted) until done
    }
    int failures = 0;
    bool stopped = false;
    for (;;) {
      std::string why;
      const Outcome outcome = post(curl, *document, why);
      if (outcome == Outcome::kSent) {
        std::lock_guard<std::mutex> lock(mutex_);
        ++metrics_.sent;
        break;
      }
      ++failures;
      if (stopping_) {
        stopped = true;
        break;
      }
      const bool exhausted = options_.maxAttempts > 0 && failures >= options_.maxAttempts;
      if (outcome == Outcome::kGiveUp || exhausted) {
        std::uint64_t failed = 0;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          failed = ++metrics_.failed;
        }
        if (worthLogging(failed)) {
          log_(true, url_ + ": gave up on an event after " + std::to_string(failures) + " attempt(s): " + why + " (" +
                         std::to_string(failed) + " event(s) failed so far)");
        }
        break;
      }
      std::uint64_t retries = 0;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        retries = ++metrics_.retries;
      }
      if (worthLogging(retries)) log_(false, url_ + ": will retry: " + why);
      changed_();
      if (!pause(backoff(failures))) {
        stopped = true;
        break;
      }
    }
    if (stopped) break;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.pop_front();
      metrics_.queued = queue_.size();
    }
    changed_();
  }
  if (curl != nullptr) curl_easy_cleanup(curl);
}

UrlSender::Outcome UrlSender::post(void* handle, const std::string& document, std::string& why) {
  CURL* curl = static_cast<CURL*>(handle);
  if (curl == nullptr) {
    why = "libcurl could not create a handle";
    return Outcome::kRetry;
  }
  // One handle per URL, reset for each request: its connection stays open
  // between events (keep-alive).
  curl_easy_reset(curl);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const std::string& header : options_.headers) headers = curl_slist_append(headers, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, document.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(document.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.requestTimeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connectTimeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &discardBody);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &abortWhenStopping);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &stopping_);
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  if (code == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    why = curl_easy_strerror(code);
    return Outcome::kRetry;
  }
  if (status >= 200 && status < 300) return Outcome::kSent;
  why = "HTTP " + std::to_string(status);
  // Worth another try: timeouts, throttling and server errors. Anything else
  // (a 4xx, a redirect) will not change by sending the same event again.
  if (status == 408 || status == 429 || status >= 500) return Outcome::kRetry;
  return Outcome::kGiveUp;
}

}  // namespace mantle::webhook
