// mantle-cron's scheduler: Chronos' job model on the C++ scheduler client.
// It queues a run of each scheduled job when it is due (skipping, and
// counting, runs missed by more than the job's epsilon), a run of a
// dependent job once all its parents succeeded since it last ran, and runs
// asked for through the API; it launches queued runs as command tasks on
// offers, retries failed ones up to the job's `retries`, counts outcomes and
// posts a webhook per outcome. It serves the Chronos REST API subset
// (docs/CRON.md).
//
// Exactly once per due time: a run is stored (with its due time) before its
// task is launched, its task id is derived from job, due time and attempt,
// and status updates are acknowledged only after their outcome is stored. A
// new leader (or a restart) loads the state, re-subscribes with the stored
// framework id and reconciles the launched runs: a task the master knows is
// followed, one it never saw is launched again under the same id.
//
// Threads: everything runs on the io_context given, which one thread runs
// (the HTTP server's handlers too); the scheduler client's callbacks only
// post to it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "cron/graph.hpp"
#include "cron/job.hpp"
#include "http/server.hpp"
#include "mantle/common/webhook_sender.hpp"
#include "scheduler/scheduler.hpp"
#include "zookeeper/document_store.hpp"

namespace mantle::cron {

namespace v1 = ::mesos::v1;

struct CronOptions {
  std::string master;  // host:port or zk://...
  std::string name = "mantle-cron";
  std::string role = "*";
  std::string user;      // tasks run as this user
  std::string hostname;  // FrameworkInfo.hostname
  std::string webuiUrl;  // FrameworkInfo.webui_url (the REST API)
  double failoverTimeoutSeconds = 7 * 24 * 3600;
  std::vector<std::string> webhookUrls;
  std::chrono::milliseconds tick{250};
};

class Cron {
 public:
  // `store` keeps the state (jobs, counters, runs in flight, the framework
  // id) as one JSON document. `lost` is called (on the io thread) when the
  // state can no longer be written: another leader took over, or the store
  // failed.
  Cron(boost::asio::io_context& io, CronOptions options, std::unique_ptr<zookeeper::DocumentStore> store,
       std::function<void(const std::string&)> lost);
  ~Cron();
  Cron(const Cron&) = delete;
  Cron& operator=(const Cron&) = delete;

  // On the io thread: loads the state, subscribes and starts the clock.
  Status start();
  // Stops the clock and the subscription (the framework stays registered:
  // its tasks keep running until a successor or a restart takes over).
  void stop();

  // The REST API, on the io thread.
  void handle(const http::Request& request, const http::Responder& responder);

 private:
  void tick();
  void armTimer();
  // Queues the due runs of scheduled jobs; true when something changed.
  bool queueDueRuns(std::int64_t now);
  void queueRun(const std::string& job, std::int64_t due, const std::string& reason);
  // Whether `run` may be launched now (a non-concurrent job runs one at a
  // time); a scheduled first attempt later than epsilon is skipped instead.
  bool launchable(const Run& run) const;
  // Drops first attempts of scheduled runs now later than their epsilon.
  bool skipLateRuns(std::int64_t now);

  void onSubscribed(const std::string& frameworkId);
  void onOffers(const std::vector<v1::Offer>& offers);
  void onUpdate(const v1::TaskStatus& status);
  void succeeded(Run run, const std::string& message);
  void failed(Run run, const std::string& state, const std::string& message);
  void notify(const std::string& type, const Run& run, const std::string& message);
  v1::TaskInfo taskFor(const Run& run, const v1::Offer& offer) const;

  // Stores the state; on failure calls `lost_` and returns false.
  bool persist();
  void reviveIfWaiting();
  ParentMap parentMap() const;

  http::Response postJob(const http::Request& request, JobKind kind);
  http::Response listJobs(const std::string& nameFilter) const;
  http::Response runNow(const std::string& name);
  http::Response deleteJob(const std::string& name);
  http::Response killTasks(const std::string& name);
  http::Response graphCsv() const;

  boost::asio::io_context& io_;
  CronOptions options_;
  std::unique_ptr<zookeeper::DocumentStore> store_;
  std::function<void(const std::string&)> lost_;
  CronState state_;
  bool stopped_ = false;
  bool lostCalled_ = false;
  boost::asio::steady_timer timer_;
  std::unique_ptr<scheduler::Scheduler> client_;
  std::vector<std::unique_ptr<webhook::UrlSender>> senders_;
  std::uint64_t notificationSequence_ = 0;
  // False once stopped: what the client posted after that is dropped.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mantle::cron
