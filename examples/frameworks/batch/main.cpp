// mantle-example-batch: runs a set of jobs read from a JSON file on a Mantle
// (or Mesos) cluster, in the manner of Chronos' dependent jobs: a job starts
// once every job it depends on has finished; a failing job is retried up to
// its "retries"; when a job fails for good, the jobs that depend on it are
// skipped. Exits 0 when every job finished, 1 otherwise.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include <json/reader.h>
#include <json/value.h>
#include <json/writer.h>

#include "flags/flags.hpp"
#include "resources/resources.hpp"
#include "scheduler/scheduler.hpp"

namespace {

namespace v1 = ::mesos::v1;
using mantle::Result;
using mantle::Status;

struct Job {
  std::string name;
  std::string command;
  std::string resources = "cpus:0.1;mem:32";
  mantle::resources::Resources wanted;
  std::int64_t retries = 0;
  std::vector<std::string> dependsOn;

  enum class State { kWaiting, kStaging, kRunning, kFinished, kFailed, kSkipped };
  State state = State::kWaiting;
  int attempts = 0;
  std::string taskId;
  std::string message;
};

const char* stateName(Job::State state) {
  switch (state) {
    case Job::State::kWaiting: return "waiting";
    case Job::State::kStaging: return "staging";
    case Job::State::kRunning: return "running";
    case Job::State::kFinished: return "finished";
    case Job::State::kFailed: return "failed";
    case Job::State::kSkipped: return "skipped";
  }
  return "?";
}

bool done(Job::State state) {
  return state == Job::State::kFinished || state == Job::State::kFailed || state == Job::State::kSkipped;
}

// {"jobs": [{"name", "command", "resources"?, "retries"?, "depends_on"?: [...]}]}.
// Names are unique, dependencies exist and form no cycle.
Result<std::map<std::string, Job>> loadJobs(const std::string& path) {
  std::ifstream in(path);
  if (!in) return mantle::notFound("cannot read " + path);
  Json::Value root;
  std::string errors;
  if (!Json::parseFromStream(Json::CharReaderBuilder(), in, &root, &errors)) {
    return mantle::invalidArgument(path + ": " + errors);
  }
  if (!root["jobs"].isArray() || root["jobs"].empty()) return mantle::invalidArgument(path + ": no \"jobs\" array");
  std::map<std::string, Job> jobs;
  for (Json::ArrayIndex i = 0; i < root["jobs"].size(); ++i) {
    const Json::Value& entry = root["jobs"][i];
    const std::string where = path + ": jobs[" + std::to_string(i) + "]";
    Job job;
    job.name = entry["name"].asString();
    job.command = entry["command"].asString();
    if (job.name.empty() || job.command.empty()) return mantle::invalidArgument(where + ": needs a name and a command");
    if (job.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
        std::string::npos) {
      return mantle::invalidArgument(where + ": name '" + job.name + "' may hold only letters, digits, - _ .");
    }
    if (entry.isMember("resources")) job.resources = entry["resources"].asString();
    auto wanted = mantle::resources::Resources::parse(job.resources);
    if (!wanted.ok()) return wanted.error().withContext(where + ": resources");
    job.wanted = *wanted;
    job.retries = entry.get("retries", 0).asInt64();
    if (job.retries < 0) return mantle::invalidArgument(where + ": retries may not be negative");
    for (const Json::Value& dependency : entry["depends_on"]) job.dependsOn.push_back(dependency.asString());
    if (jobs.count(job.name)) return mantle::invalidArgument(where + ": a second job named '" + job.name + "'");
    jobs[job.name] = job;
  }
  for (const auto& [name, job] : jobs) {
    for (const std::string& dependency : job.dependsOn) {
      if (!jobs.count(dependency)) {
        return mantle::invalidArgument(path + ": job '" + name + "' depends on unknown job '" + dependency + "'");
      }
    }
  }
  // A depth-first search for cycles.
  std::map<std::string, int> mark;  // 1: on the path, 2: done
  std::function<std::optional<std::string>(const std::string&)> visit = [&](const std::string& name)
      -> std::optional<std::string> {
    if (mark[name] == 2) return std::nullopt;
    if (mark[name] == 1) return name;
    mark[name] = 1;
    for (const std::string& dependency : jobs[name].dependsOn) {
      if (auto cycle = visit(dependency)) return cycle;
    }
    mark[name] = 2;
    return std::nullopt;
  };
  for (const auto& [name, job] : jobs) {
    if (auto cycle = visit(name)) return mantle::invalidArgument(path + ": job '" + *cycle + "' depends on itself");
  }
  return jobs;
}

class Batch {
 public:
  Batch(std::string master, std::string name, std::string role, std::string user, std::map<std::string, Job> jobs)
      : master_(std::move(master)), name_(std::move(name)), role_(std::move(role)), user_(std::move(user)),
        jobs_(std::move(jobs)) {}

  // Runs every job; false when one failed or was skipped, or the framework
  // could not run.
  bool run(double timeout) {
    mantle::scheduler::SchedulerOptions options;
    options.master = master_;
    options.frameworkInfo.set_user(user_);
    options.frameworkInfo.set_name(name_);
    options.frameworkInfo.add_roles(role_);
    options.frameworkInfo.add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
    mantle::scheduler::SchedulerCallbacks callbacks;
    callbacks.offers = [this](const std::vector<v1::Offer>& offers) { onOffers(offers); };
    callbacks.update = [this](const v1::TaskStatus& status) { onUpdate(status); };
    callbacks.error = [this](const std::string& message) {
      std::lock_guard<std::mutex> lock(mutex_);
      failure_ = "the master says: " + message;
      changed_.notify_all();
    };
    client_ = std::make_unique<mantle::scheduler::Scheduler>(options, callbacks);
    client_->start();
    std::unique_lock<std::mutex> lock(mutex_);
    const bool finished = changed_.wait_for(lock, std::chrono::duration<double>(timeout > 0 ? timeout : 1e9), [&] {
      return !failure_.empty() || std::all_of(jobs_.begin(), jobs_.end(), [](const auto& j) {
               return done(j.second.state);
             });
    });
    if (!finished) failure_ = "timed out";
    lock.unlock();
    (void)client_->teardown();  // also kills what still runs
    client_->stop();
    lock.lock();
    if (!failure_.empty()) std::cerr << "batch: error: " << failure_ << "\n";
    return failure_.empty() && std::all_of(jobs_.begin(), jobs_.end(), [](const auto& j) {
             return j.second.state == Job::State::kFinished;
           });
  }

  Json::Value report() {
    std::lock_guard<std::mutex> lock(mutex_);
    Json::Value out(Json::objectValue);
    for (const auto& [name, job] : jobs_) {
      Json::Value j;
      j["state"] = stateName(job.state);
      j["attempts"] = job.attempts;
      j["task_id"] = job.taskId;
      j["message"] = job.message;
      out[name] = j;
    }
    return out;
  }

 private:
  // Under mutex_: jobs whose dependencies have all finished.
  std::vector<Job*> ready() {
    std::vector<Job*> out;
    for (auto& [name, job] : jobs_) {
      if (job.state != Job::State::kWaiting) continue;
      if (std::all_of(job.dependsOn.begin(), job.dependsOn.end(),
                      [&](const std::string& d) { return jobs_[d].state == Job::State::kFinished; })) {
        out.push_back(&job);
      }
    }
    return out;
  }

  // Under mutex_: skips every job that waits on one that will never finish.
  void skipBlocked() {
    for (bool changed = true; changed;) {
      changed = false;
      for (auto& [name, job] : jobs_) {
        if (job.state != Job::State::kWaiting) continue;
        for (const std::string& d : job.dependsOn) {
          const Job::State s = jobs_[d].state;
          if (s == Job::State::kFailed || s == Job::State::kSkipped) {
            job.state = Job::State::kSkipped;
            job.message = "dependency '" + d + "' did not finish";
            std::cout << "batch: " << name << " skipped: " << job.message << std::endl;
            changed = true;
            break;
          }
        }
      }
    }
  }

  void onOffers(const std::vector<v1::Offer>& offers) {
    for (const v1::Offer& offer : offers) {
      std::vector<v1::TaskInfo> launches;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        auto offered = mantle::resources::Resources::from(offer.resources());
        mantle::resources::Resources left =
            offered.ok() ? offered->withoutAllocation().unreserved() : mantle::resources::Resources();
        for (Job* job : ready()) {
          if (!left.contains(job->wanted)) continue;
          left = *left.minus(job->wanted);
          ++job->attempts;
          job->taskId = name_ + "." + job->name + "." + std::to_string(job->attempts);
          job->state = Job::State::kStaging;
          v1::TaskInfo task = mantle::scheduler::commandTask(job->taskId, offer, job->command, job->resources);
          task.set_name(job->name);
          launches.push_back(task);
          std::cout << "batch: starting " << job->name << " (attempt " << job->attempts << ") on "
                    << offer.hostname() << std::endl;
        }
      }
      if (launches.empty()) {
        (void)client_->decline({offer.id()}, 1);
      } else if (Status s = client_->launch(offer, launches, 1); !s.ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        failure_ = "launching failed: " + s.error().message;
        changed_.notify_all();
      }
    }
  }

  void onUpdate(const v1::TaskStatus& status) {
    bool revive = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      Job* job = nullptr;
      for (auto& [name, candidate] : jobs_) {
        if (candidate.taskId == status.task_id().value()) job = &candidate;
      }
      if (job == nullptr || done(job->state)) return;
      job->message = status.message();
      switch (status.state()) {
        case v1::TASK_STAGING:
        case v1::TASK_STARTING: break;
        case v1::TASK_RUNNING: job->state = Job::State::kRunning; break;
        case v1::TASK_FINISHED:
          job->state = Job::State::kFinished;
          std::cout << "batch: " << job->name << " finished" << std::endl;
          revive = true;
          break;
        default:
          if (status.state() == v1::TASK_KILLING) break;
          std::cout << "batch: " << job->name << " attempt " << job->attempts << " "
                    << v1::TaskState_Name(status.state())
                    << (status.message().empty() ? "" : ": " + status.message()) << std::endl;
          if (job->attempts <= job->retries) {
            job->state = Job::State::kWaiting;  // retried on a later offer
          } else {
            job->state = Job::State::kFailed;
            skipBlocked();
          }
          revive = true;
      }
      changed_.notify_all();
    }
    if (revive) (void)client_->revive();
  }

  std::string master_;
  std::string name_;
  std::string role_;
  std::string user_;
  std::unique_ptr<mantle::scheduler::Scheduler> client_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Job> jobs_;
  std::string failure_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string master = "127.0.0.1:5050";
  std::string name = "batch";
  std::string role = "*";
  std::string user;
  std::string jobsFile;
  std::string reportFile;
  double timeout = 0;
  mantle::flags::FlagSet set("mantle-example-batch",
                             "Runs the jobs of a JSON file in dependency order, retrying failed ones.");
  set.addString("master", &master, "The master, host:port (or MANTLE_MASTER).");
  set.addString("name", &name, "The framework's name.");
  set.addString("role", &role, "The role to run in.");
  set.addString("user", &user, "The user to run as (default: yours).");
  set.addString("jobs", &jobsFile, "The jobs (JSON, see README.md).");
  set.addString("report", &reportFile, "Write each job's end state, attempts and last message here (JSON).");
  set.addDuration("timeout", &timeout, "Give up after this long; 0 waits forever.");
  if (Status s = set.parse(argc, argv); !s.ok()) {
    std::cerr << "mantle-example-batch: error: " << s.error().message << "\n";
    return 2;
  }
  if (set.helpRequested()) {
    std::cout << set.usage();
    return 0;
  }
  if (jobsFile.empty()) {
    std::cerr << "mantle-example-batch: error: --jobs is required\n";
    return 2;
  }
  auto jobs = loadJobs(jobsFile);
  if (!jobs.ok()) {
    std::cerr << "mantle-example-batch: error: " << jobs.error().message << "\n";
    return 2;
  }
  if (user.empty()) {
    const char* env = std::getenv("USER");
    user = env != nullptr ? env : "root";
  }
  Batch batch(master, name, role, user, std::move(*jobs));
  const bool ok = batch.run(timeout);
  Json::Value report = batch.report();
  for (const std::string& job : report.getMemberNames()) {
    std::cout << "batch: " << job << ": " << report[job]["state"].asString() << " after "
              << report[job]["attempts"].asInt() << " attempt(s)" << std::endl;
  }
  if (!reportFile.empty()) {
    std::ofstream out(reportFile, std::ios::trunc);
    out << Json::writeString(Json::StreamWriterBuilder(), report) << "\n";
  }
  return ok ? 0 : 1;
}
