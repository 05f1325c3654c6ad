// webhook: posts state events (tasks, agents, frameworks) and executor
// removals as JSON to configured URLs. The hook calls only serialize and
// enqueue; one thread per URL delivers in order, with retries and backoff.
// Per-URL metrics go to a Prometheus text file and to the host's log.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "event_json.hpp"
#include "mantle/common/clock.hpp"
#include "mantle/common/prometheus.hpp"
#include "mantle/common/webhook_sender.hpp"
#include "mantle/module_api/sdk/hook.hpp"

namespace mantle::hooks::webhook {

namespace v1 = ::mantle::module::v1;
using ::mantle::webhook::SenderMetrics;
using ::mantle::webhook::SenderOptions;
using ::mantle::webhook::UrlSender;

namespace {

Result<std::chrono::milliseconds> positiveMs(const sdk::Config& config, const char* name) {
  const std::int64_t value = config.getInt(name);
  if (value <= 0) return invalidArgument(std::string("parameter '") + name + "': must be positive");
  return std::chrono::milliseconds(value);
}

std::set<std::string> knownEventTypes() {
  std::set<std::string> out = {kExecutorRemovedType};
  for (int i = v1::StateEvent::Type_MIN; i <= v1::StateEvent::Type_MAX; ++i) {
    if (v1::StateEvent::Type_IsValid(i) && i != v1::StateEvent::UNKNOWN) {
      out.insert(eventTypeName(static_cast<v1::StateEvent::Type>(i)));
    }
  }
  return out;
}

struct Settings {
  std::vector<std::string> urls;
  SenderOptions sender;
  std::set<std::string> events;  // empty: all
  std::string metricsFile;
  std::chrono::milliseconds metricsInterval{1000};
};

Result<Settings> parseSettings(const sdk::Context& context) {
  const sdk::Config& config = context.config;
  Settings settings;
  settings.urls = config.getStringList("urls");
  if (settings.urls.empty()) return invalidArgument("parameter 'urls': give at least one URL");
  std::set<std::string> seen;
  for (const std::string& url : settings.urls) {
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return invalidArgument("parameter 'urls': '" + url + "' is not an http:// or https:// URL");
    }
    if (!seen.insert(url).second) return invalidArgument("parameter 'urls': '" + url + "' is given more than once");
  }
  for (const std::string& header : config.getStringList("headers")) {
    const std::size_t colon = header.find(':');
    if (colon == std::string::npos || colon == 0) {
      return invalidArgument("parameter 'headers': '" + header + "' is not 'Name: value'");
    }
    settings.sender.headers.push_back(header);
  }
  const std::int64_t capacity = config.getInt("queue_capacity");
  if (capacity <= 0) return invalidArgument("parameter 'queue_capacity': must be positive");
  settings.sender.queueCapacity = static_cast<std::size_t>(capacity);
  const std::int64_t attempts = config.getInt("max_attempts");
  if (attempts < 0) return invalidArgument("parameter 'max_attempts': must be 0 (until delivered) or positive");
  settings.sender.maxAttempts = static_cast<int>(std::min<std::int64_t>(attempts, 1 << 30));
  for (auto [name, field] : {std::pair{"initial_backoff_ms", &settings.sender.initialBackoff},
                             std::pair{"max_backoff_ms", &settings.sender.maxBackoff},
                             std::pair{"request_timeout_ms", &settings.sender.requestTimeout},
                             std::pair{"connect_timeout_ms", &settings.sender.connectTimeout},
                             std::pair{"metrics_interval_ms", &settings.metricsInterval}}) {
    Result<std::chrono::milliseconds> value = positiveMs(config, name);
    if (!value.ok()) return value.error();
    *field = *value;
  }
  if (settings.sender.maxBackoff < settings.sender.initialBackoff) {
    return invalidArgument("parameter 'max_backoff_ms': must not be less than 'initial_backoff_ms'");
  }
  const std::set<std::string> known = knownEventTypes();
  for (const std::string& type : config.getStringList("events")) {
    if (!known.count(type)) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return invalidArgument("parameter 'events': unknown event type '" + type + "' (known: " + list + ")");
    }
    settings.events.insert(type);
  }
  settings.metricsFile = config.getString("metrics_file");
  if (settings.metricsFile.empty() && !config.stateDir().empty()) {
    settings.metricsFile = config.stateDir() + "/webhook.prom";
  }
  return settings;
}

class WebhookHook final : public sdk::Hook {
 public:
  WebhookHook(std::string instance, Settings settings, sdk::Host host)
      : instance_(std::move(instance)), settings_(std::move(settings)), host_(host) {
    auto log = [host = host_, instance = instance_](bool warning, const std::string& message) {
      if (warning) {
        host.warning("webhook '" + instance + "': " + message);
      } else {
        host.info("webhook '" + instance + "': " + message);
      }
    };
    for (const std::string& url : settings_.urls) {
      senders_.push_back(std::make_unique<UrlSender>(url, settings_.sender, log, [this] { markChanged(); }));
    }
    if (!settings_.metricsFile.empty()) metricsThread_ = std::thread([this] { metricsLoop(); });
  }

  ~WebhookHook() override {
    {
      std::lock_guard<std::mutex> lock(metricsMutex_);
      stopping_ = true;
    }
    metricsWake_.notify_all();
    if (metricsThread_.joinable()) metricsThread_.join();
    for (auto& sender : senders_) sender->stop();  // aborts requests in flight
    if (!settings_.metricsFile.empty()) writeMetrics();
    host_.info("webhook '" + instance_ + "' stopped: " + summary());
  }

  static Result<std::unique_ptr<WebhookHook>> create(const sdk::Context& context) {
    static std::once_flag curlInit;
    std::call_once(curlInit, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    Result<Settings> settings = parseSettings(context);
    if (!settings.ok()) return settings.error();
    if (!settings->metricsFile.empty()) {
      std::ofstream probe(settings->metricsFile, std::ios::app);
      if (!probe) {
        return invalidArgument("parameter 'metrics_file': cannot write '" + settings->metricsFile + "'");
      }
    }
    return std::make_unique<WebhookHook>(context.instanceName, std::move(*settings), context.host);
  }

  Result<v1::Empty> stateEvent(const v1::StateEvent& event) override {
    const std::string type = eventTypeName(event.type());
    if (wanted(type)) publish(stateEventJson(event, ++sequence_, instance_));
    return v1::Empty();
  }

  Result<v1::Empty> executorRemoved(const v1::ExecutorRemoved& removed) override {
    if (wanted(kExecutorRemovedType)) publish(executorRemovedJson(removed, ++sequence_, instance_, wallNow()));
    return v1::Empty();
  }

 private:
  bool wanted(const std::string& type) const { return settings_.events.empty() || settings_.events.count(type) > 0; }

  void publish(std::string json) {
    auto document = std::make_shared<const std::string>(std::move(json));
    for (auto& sender : senders_) sender->enqueue(document);
    markChanged();
  }

  void markChanged() {
    {
      std::lock_guard<std::mutex> lock(metricsMutex_);
      ++generation_;
    }
  }

  void metricsLoop() {
    std::uint64_t written = ~std::uint64_t{0};
    std::unique_lock<std::mutex> lock(metricsMutex_);
    for (;;) {
      if (generation_ != written) {
        written = generation_;
        lock.unlock();
        writeMetrics();
        lock.lock();
      }
      if (metricsWake_.wait_for(lock, settings_.metricsInterval, [this] { return stopping_; })) return;
    }
  }

  // Prometheus text format (node_exporter's textfile collector reads it),
  // written to a temporary file and renamed into place.
  void writeMetrics() {
    struct Family {
      const char* name;
      const char* type;
      const char* help;
      std::uint64_t SenderMetrics::*field;
    };
    static const Family families[] = {
        {"mantle_webhook_sent_total", "counter", "Events the URL accepted (2xx).", &SenderMetrics::sent},
        {"mantle_webhook_failed_total", "counter", "Events given up on (attempts exhausted or a 4xx answer).",
         &SenderMetrics::failed},
        {"mantle_webhook_dropped_total", "counter", "Events dropped because the URL's queue was full.",
         &SenderMetrics::dropped},
        {"mantle_webhook_retries_total", "counter", "Failed attempts that were retried.", &SenderMetrics::retries},
        {"mantle_webhook_queued", "gauge", "Events waiting for the URL, including the one being sent.",
         &SenderMetrics::queued},
    };
    std::vector<std::pair<std::string, SenderMetrics>> snapshot;
    for (const auto& sender : senders_) snapshot.emplace_back(sender->url(), sender->metrics());
    prometheus::TextWriter text;
    for (const Family& family : families) {
      text.family(family.name, family.type, family.help);
      for (const auto& [url, metrics] : snapshot) {
        text.sample(family.name, {{"instance", instance_}, {"url", url}}, metrics.*(family.field));
      }
    }
    const std::string temporary = settings_.metricsFile + ".tmp";
    {
      std::ofstream out(temporary, std::ios::trunc);
      out << text.text();
      if (!out) {
        host_.warning("webhook '" + instance_ + "': cannot write " + temporary);
        return;
      }
    }
    if (std::rename(temporary.c_str(), settings_.metricsFile.c_str()) != 0) {
      host_.warning("webhook '" + instance_ + "': cannot rename " + temporary + " to " + settings_.metricsFile);
    }
  }

  std::string summary() const {
    std::string out;
    for (const auto& sender : senders_) {
      const SenderMetrics m = sender->metrics();
      out += (out.empty() ? "" : "; ") + sender->url() + ": sent " + std::to_string(m.sent) + ", failed " +
             std::to_string(m.failed) + ", dropped " + std::to_string(m.dropped) + ", retries " +
             std::to_string(m.retries);
    }
    return out;
  }

  const std::string instance_;
  const Settings settings_;
  const sdk::Host host_;
  std::vector<std::unique_ptr<UrlSender>> senders_;
  std::uint64_t sequence_ = 0;  // hook calls never overlap

  std::mutex metricsMutex_;
  std::condition_variable metricsWake_;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
  std::thread metricsThread_;
};

}  // namespace

}  // namespace mantle::hooks::webhook

MANTLE_MODULE_LIBRARY(
    "mantle_webhook", "0.1.0",
    mantle::sdk::describe<mantle::hooks::webhook::WebhookHook>(
        "webhook", "Posts task, agent, framework and executor events as JSON to URLs",
        {mantle::sdk::Param::required(mantle::sdk::Param::stringList("urls", "where to POST each event")),
         mantle::sdk::Param::stringList("headers", "extra request headers, each 'Name: value'"),
         mantle::sdk::Param::stringList("events", "event types to send (default: all)"),
         mantle::sdk::Param::integer("queue_capacity", "events waiting per URL before new ones are dropped", "1000"),
         mantle::sdk::Param::integer("max_attempts", "attempts per event and URL; 0: until delivered", "10"),
         mantle::sdk::Param::integer("initial_backoff_ms", "wait after the first failed attempt", "100"),
         mantle::sdk::Param::integer("max_backoff_ms", "longest wait between attempts", "30000"),
         mantle::sdk::Param::integer("request_timeout_ms", "limit on one request", "5000"),
         mantle::sdk::Param::integer("connect_timeout_ms", "limit on connecting", "2000"),
         mantle::sdk::Param::string("metrics_file",
                                    "Prometheus text file of per-URL metrics (default: <state dir>/webhook.prom)"),
         mantle::sdk::Param::integer("metrics_interval_ms", "how often the metrics file is rewritten", "1000")}))
