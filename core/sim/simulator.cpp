#include "sim/simulator.hpp"

#include <time.h>

#include <google/protobuf/arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <queue>
#include <random>
#include <set>

#include "mantle/common/convert.hpp"
#include "mantle/module/v1/allocator.pb.h"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/defaults.hpp"
#include "mantle/modules/manifest.hpp"

namespace mantle::sim {

namespace v1 = ::mantle::module::v1;

Result<Policy> loadPolicy(const std::string& spec) {
  Policy policy;
  std::size_t colon = spec.find(':');
  policy.name = spec.substr(0, colon);
  if (colon != std::string::npos) policy.manifest = spec.substr(colon + 1);
  if (policy.name.empty()) return invalidArgument("--policy=" + spec + ": no instance name before ':'");
  if (colon != std::string::npos && policy.manifest.empty()) {
    return invalidArgument("--policy=" + spec + ": no manifest after ':'");
  }
  const std::string manifestArg = policy.manifest.empty() ? modules::defaultManifestPath() : policy.manifest;
  modules::Manifest manifest;
  if (Status s = modules::loadManifest(manifestArg, manifest); !s.ok()) {
    return invalidArgument("--policy=" + spec + ": " + s.error().message);
  }
  const modules::ModuleSpec* found = manifest.find(policy.name);
  if (found == nullptr) {
    std::string known;
    for (const modules::ModuleSpec& m : manifest.modules) {
      if (m.kind == "allocator") known += (known.empty() ? "" : ", ") + m.instance;
    }
    return invalidArgument("--policy=" + spec + ": " + manifestArg + " declares no module instance '" + policy.name +
                           "' (allocators there: " + (known.empty() ? "none" : known) + ")");
  }
  if (!found->kind.empty() && found->kind != "allocator") {
    return invalidArgument("--policy=" + spec + ": '" + policy.name + "' (" + found->source + ") is of kind '" +
                           found->kind + "', not allocator");
  }
  // Only this instance's library: the default manifest names isolators too.
  modules::Manifest only;
  if (Status s = only.add(*found); !s.ok()) return s.error();
  policy.registry = std::make_shared<modules::Registry>(modules::RegistryOptions{{modules::builtinModuleDir()}, ""});
  if (Status s = policy.registry->load(only); !s.ok())
    return invalidArgument("--policy=" + spec + ": " + s.error().message);
  auto instance = policy.registry->create("allocator", policy.name);
  if (!instance.ok()) return invalidArgument("--policy=" + spec + ": " + instance.error().message);
  policy.instance = *instance;
  return policy;
}

namespace {

constexpr double kEpsilon = 1e-9;

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Nearest-rank percentile of sorted `v`.
std::optional<double> percentile(const std::vector<double>& v, double p) {
  if (v.empty()) return std::nullopt;
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::max<std::size_t>(rank, 1) - 1];
}

struct JobState {
  const Job* job = nullptr;
  int launched = 0;
  int finished = 0;
  double lastFinish = 0;
};

// Pending jobs of one role: higher priority first, then earlier submission.
struct JobOrder {
  const std::vector<JobState>* jobs;
  bool operator()(std::size_t a, std::size_t b) const {
    const Job& x = *(*jobs)[a].job;
    const Job& y = *(*jobs)[b].job;
    if (x.priority != y.priority) return x.priority > y.priority;
    if (x.submit != y.submit) return x.submit < y.submit;
    return x.line < y.line;
  }
};

struct FrameworkState {
  std::string name;
  std::vector<std::string> roles;  // sorted
  bool gpu = false;
  double weight = 1;
  std::map<std::string, std::set<std::size_t, JobOrder>> queues;  // role -> pending jobs
  std::int64_t pendingTasks = 0;
  std::vector<double> allocated;  // per resource
  double share = 0;
  int running = 0;
  int peakRunning = 0;
  std::int64_t finished = 0;
  std::string synced;  // what the allocator was last told (suppression, minimum shapes)
  // Time integrals, brought up to date lazily (at `last`).
  double last = 0;
  double shareIntegral = 0;
  double pendingShareIntegral = 0;  // share / weight while it had pending tasks
  double pendingTime = 0;
};

struct RunningTask {
  double end = 0;
  std::uint64_t seq = 0;
  std::size_t framework = 0;
  std::size_t job = 0;
  std::string agent;
  google::protobuf::RepeatedPtrField<v1::Resource> taken;
  bool operator>(const RunningTask& o) const { return end != o.end ? end > o.end : seq > o.seq; }
};

struct AgentState {
  std::map<std::string, std::string> attributes;
};

// The allocator driven as the master's allocator client drives it
// (core/master/allocator_client): one typed call per change, the resources
// given back queued and sent as one batch before the next call (one call
// each for a module without recover_resources_batch). Measures the wall time
// of every call.
class AllocatorCalls {
 public:
  explicit AllocatorCalls(modules::Instance& instance) : client_(instance) {}

  template <class Request>
  Status update(Result<v1::Empty> (modules::AllocatorClient::*method)(const Request&) const, const Request& request) {
    if (Status s = flush(); !s.ok()) return s;
    return timed([&] { return (client_.*method)(request); });
  }

  void recover(const std::string& framework, const std::string& agent,
               const google::protobuf::RepeatedPtrField<v1::Resource>& given, double refuseSeconds, double now) {
    if (given.empty()) return;
    v1::AllocatorRecoverResources* item = pending()->add_items();
    item->mutable_framework_id()->set_value(framework);
    item->mutable_agent_id()->set_value(agent);
    *item->mutable_resources() = given;
    if (refuseSeconds > 0) item->set_refuse_seconds(refuseSeconds);
    item->set_now_seconds(now);
  }

  Status flush() {
    if (pending_ == nullptr || pending_->items_size() == 0) return {};
    Status sent = timed([&] { return client_.recoverResourcesBatch(*pending_); });
    if (!sent.ok() && sent.error().code == StatusCode::kUnimplemented) {
      sent = {};
      for (const v1::AllocatorRecoverResources& item : pending_->items()) {
        sent = timed([&] { return client_.recoverResources(item); });
        if (!sent.ok()) break;
      }
    }
    // The batch lives on an arena, freed at once.
    pending_ = nullptr;
    batchArena_.Reset();
    return sent;
  }

  // The response lives on `arena`.
  Result<v1::AllocateResponse*> allocate(double now, google::protobuf::Arena* arena) {
    if (Status s = flush(); !s.ok()) return s.error();
    v1::AllocateRequest request;
    request.set_now_seconds(now);
    auto* response = google::protobuf::Arena::CreateMessage<v1::AllocateResponse>(arena);
    Status done = timed([&] { return client_.allocateInto(request, response); });
    if (!done.ok()) return done.error();
    return response;
  }

  double wallSeconds() const { return wallSeconds_; }

 private:
  template <class F>
  Status timed(F&& call) {
    auto start = std::chrono::steady_clock::now();
    auto result = call();
    wallSeconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!result.ok()) return result.error();
    return {};
  }

  v1::AllocatorRecoverResourcesBatch* pending() {
    if (pending_ == nullptr)
      pending_ = google::protobuf::Arena::CreateMessage<v1::AllocatorRecoverResourcesBatch>(&batchArena_);
    return pending_;
  }

  modules::AllocatorClient client_;
  // Its first block is kept across Reset(): a steady stream of batches maps
  // no fresh memory.
  std::vector<char> batchBlock_ = std::vector<char>(1 << 20);
  google::protobuf::Arena batchArena_{batchBlock_.data(), batchBlock_.size()};
  v1::AllocatorRecoverResourcesBatch* pending_ = nullptr;
  double wallSeconds_ = 0;
};

class Simulation {
 public:
  Simulation(const Cluster& cluster, const Trace& trace, modules::Instance& allocator, const Options& options)
      : cluster_(cluster), trace_(trace), options_(options), allocator_(allocator) {}

  Result<RunReport> run();

 private:
  Status setUp();
  Status sync(std::size_t f);
  void advance(double to);
  void touch(FrameworkState& fw);
  void recomputeShare(FrameworkState& fw);
  Status finishTasks(double upTo);
  Status submitJobs(double upTo);
  Status cycle();
  Status handleOffer(const v1::AllocatorOffer& offer, bool* launched);
  double nextCycleTime() const;
  void sampleUntil(double to);
  RunReport finish();

  const Cluster& cluster_;
  const Trace& trace_;
  Options options_;
  AllocatorCalls allocator_;
  std::vector<char> responseBlock_ = std::vector<char>(1 << 20);
  google::protobuf::Arena responseArena_{responseBlock_.data(), responseBlock_.size()};
  double now_ = 0;
  RunReport run_;

  std::vector<std::string> resourceNames_;
  std::map<std::string, std::size_t> resourceIndex_;
  std::vector<double> total_;
  std::vector<double> used_;
  std::vector<double> usedIntegral_;
  std::map<std::string, AgentState> agents_;
  std::vector<FrameworkState> frameworks_;
  std::map<std::string, std::size_t> frameworkIndex_;
  std::vector<JobState> jobs_;
  std::size_t nextJob_ = 0;
  std::priority_queue<RunningTask, std::vector<RunningTask>, std::greater<>> running_;
  std::uint64_t seq_ = 0;
  std::priority_queue<double, std::vector<double>, std::greater<>> filters_;
  std::int64_t pendingTasks_ = 0;
  bool dirty_ = true;
  double lastCycle_ = -std::numeric_limits<double>::infinity();
  double lastProgress_ = 0;
  double start_ = 0;
  double lastFinish_ = 0;
  double sampleStep_ = 1;
  double nextSample_ = 0;
};

Status Simulation::setUp() {
  // Resources: every scalar the agents have.
  std::map<std::string, double> totals;
  for (const AgentGroup& g : cluster_.agents) {
    for (const resources::Resource& r : g.resources.items()) {
      if (r.type() == mesos::v1::Value::SCALAR) totals[r.name()] += r.scalar().value() * g.count;
    }
  }
  for (const auto& [name, amount] : totals) {
    resourceIndex_[name] = resourceNames_.size();
    resourceNames_.push_back(name);
    total_.push_back(amount);
  }
  used_.assign(total_.size(), 0);
  usedIntegral_.assign(total_.size(), 0);
  if (Status s = checkTrace(cluster_, trace_, "trace"); !s.ok()) return s;

  // Weights and quota, before anything registers.
  std::map<std::string, double> weights = cluster_.weights;
  for (const auto& [role, w] : trace_.weights) weights[role] = w;
  if (!weights.empty()) {
    v1::AllocatorUpdateWeights request;
    for (const auto& [role, w] : weights) {
      auto* entry = request.add_weights();
      entry->set_role(role);
      entry->set_weight(w);
    }
    if (Status s = allocator_.update(&modules::AllocatorClient::updateWeights, request); !s.ok()) return s;
  }
  for (const auto& [role, quota] : cluster_.quota) {
    v1::AllocatorUpdateQuota request;
    request.set_role(role);
    for (const resources::Resource& r : quota.guarantees.items()) {
      *request.add_guarantees() = convert<v1::Resource>(r).value();
    }
    for (const resources::Resource& r : quota.limits.items()) *request.add_limits() = convert<v1::Resource>(r).value();
    if (Status s = allocator_.update(&modules::AllocatorClient::updateQuota, request); !s.ok()) return s;
  }

  // Agents, in an order the seed shuffles (Fisher-Yates on mt19937_64, whose
  // output the standard fixes, so every platform gets the same order).
  struct Pending {
    std::string id;
    const AgentGroup* group;
  };
  std::vector<Pending> agents;
  for (std::size_t g = 0; g < cluster_.agents.size(); ++g) {
    for (int i = 0; i < cluster_.agents[g].count; ++i) {
      char id[48];
      std::snprintf(id, sizeof(id), "agent-%zu-%06d", g, i);
      agents.push_back({id, &cluster_.agents[g]});
    }
  }
  std::mt19937_64 random(options_.seed);
  for (std::size_t i = agents.size(); i > 1; --i) std::swap(agents[i - 1], agents[random() % i]);
  for (const Pending& agent : agents) {
    v1::AllocatorAddAgent request;
    v1::AgentInfo* info = request.mutable_agent_info();
    info->mutable_id()->set_value(agent.id);
    info->set_hostname(agent.id);
    for (const auto& [name, value] : agent.group->attributes) {
      v1::Attribute* a = info->add_attributes();
      a->set_name(name);
      a->set_type(v1::Value::TEXT);
      a->mutable_text()->set_value(value);
    }
    for (const resources::Resource& r : agent.group->resources.items()) {
      *request.add_total() = convert<v1::Resource>(r).value();
    }
    if (Status s = allocator_.update(&modules::AllocatorClient::addAgent, request); !s.ok()) return s;
    agents_[agent.id].attributes = agent.group->attributes;
  }

  // Frameworks: all registered at the start, every role suppressed until it
  // has work.
  jobs_.reserve(trace_.jobs.size());
  for (const Job& job : trace_.jobs) jobs_.push_back(JobState{&job});
  std::map<std::string, std::set<std::string>> roles;
  std::map<std::string, bool> gpu;
  std::map<std::string, std::string> firstRole;
  for (const Job& job : trace_.jobs) {
    roles[job.framework].insert(job.role);
    if (job.resources.count("gpus") > 0) gpu[job.framework] = true;
    firstRole.emplace(job.framework, job.role);
  }
  for (const auto& [name, roleSet] : roles) {
    FrameworkState fw;
    fw.name = name;
    fw.roles.assign(roleSet.begin(), roleSet.end());
    fw.gpu = gpu[name];
    auto w = weights.find(firstRole[name]);
    fw.weight = w == weights.end() ? 1.0 : w->second;
    for (const std::string& role : fw.roles) fw.queues.emplace(role, std::set<std::size_t, JobOrder>(JobOrder{&jobs_}));
    fw.allocated.assign(total_.size(), 0);
    frameworkIndex_[name] = frameworks_.size();
    frameworks_.push_back(std::move(fw));
  }
  for (std::size_t f = 0; f < frameworks_.size(); ++f) {
    v1::AllocatorAddFramework request;
    v1::FrameworkInfo* info = request.mutable_framework_info();
    info->mutable_id()->set_value(frameworks_[f].name);
    info->set_name(frameworks_[f].name);
    info->set_user("sim");
    for (const std::string& role : frameworks_[f].roles) {
      info->add_roles(role);
      request.add_suppressed_roles(role);
    }
    info->add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
    if (frameworks_[f].gpu) info->add_capabilities()->set_type(v1::FrameworkInfo::Capability::GPU_RESOURCES);
    if (Status s = allocator_.update(&modules::AllocatorClient::addFramework, request); !s.ok()) return s;
    frameworks_[f].synced = "registered";
  }
  return {};
}

// Tells the allocator which of the framework's roles want offers and the
// smallest offer each can use (its next task's shape), when that changed.
Status Simulation::sync(std::size_t f) {
  FrameworkState& fw = frameworks_[f];
  v1::AllocatorUpdateFramework request;
  v1::FrameworkInfo* info = request.mutable_framework_info();
  info->mutable_id()->set_value(fw.name);
  info->set_name(fw.name);
  info->set_user("sim");
  info->add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  if (fw.gpu) info->add_capabilities()->set_type(v1::FrameworkInfo::Capability::GPU_RESOURCES);
  for (const std::string& role : fw.roles) {
    info->add_roles(role);
    const auto& queue = fw.queues.at(role);
    if (queue.empty()) {
      request.add_suppressed_roles(role);
      continue;
    }
    v1::MinAllocatable* min = request.add_min_allocatable();
    min->set_role(role);
    for (const auto& [name, amount] : jobs_[*queue.begin()].job->resources) {
      v1::Resource* r = min->add_quantities();
      r->set_name(name);
      r->set_type(v1::Value::SCALAR);
      r->mutable_scalar()->set_value(amount);
    }
  }
  // Jobs of one shape in a row need no update: compare shapes, not jobs.
  std::string shapes;
  for (const std::string& role : fw.roles) {
    const auto& queue = fw.queues.at(role);
    shapes += role + (queue.empty() ? ":-" : ":");
    if (!queue.empty()) {
      for (const auto& [name, amount] : jobs_[*queue.begin()].job->resources) {
        shapes += name + "=" + std::to_string(amount) + ",";
      }
    }
    shapes += ";";
  }
  if (shapes == fw.synced) return {};
  fw.synced = shapes;
  return allocator_.update(&modules::AllocatorClient::updateFramework, request);
}

void Simulation::touch(FrameworkState& fw) {
  double dt = now_ - fw.last;
  if (dt > 0) {
    fw.shareIntegral += fw.share * dt;
    if (fw.pendingTasks > 0) {
      fw.pendingShareIntegral += fw.share / fw.weight * dt;
      fw.pendingTime += dt;
    }
  }
  fw.last = now_;
}

void Simulation::recomputeShare(FrameworkState& fw) {
  double share = 0;
  for (std::size_t k = 0; k < total_.size(); ++k) {
    if (total_[k] > 0) share = std::max(share, fw.allocated[k] / total_[k]);
  }
  fw.share = share;
}

void Simulation::sampleUntil(double to) {
  while (nextSample_ < to && static_cast<int>(run_.series.size()) < 100 * options_.samples) {
    Sample s;
    s.time = nextSample_;
    for (const FrameworkState& fw : frameworks_) s.shares.push_back(fw.share);
    for (std::size_t k = 0; k < total_.size(); ++k) s.utilisation.push_back(total_[k] > 0 ? used_[k] / total_[k] : 0);
    run_.series.push_back(std::move(s));
    nextSample_ = start_ + sampleStep_ * static_cast<double>(run_.series.size());
  }
}

void Simulation::advance(double to) {
  if (to <= now_) return;
  sampleUntil(to);
  for (std::size_t k = 0; k < used_.size(); ++k) usedIntegral_[k] += used_[k] * (to - now_);
  now_ = to;
}

Status Simulation::finishTasks(double upTo) {
  while (!running_.empty() && running_.top().end <= upTo) {
    RunningTask task = std::move(const_cast<RunningTask&>(running_.top()));  // popped next
    running_.pop();
    advance(task.end);
    FrameworkState& fw = frameworks_[task.framework];
    touch(fw);
    const Job& job = *jobs_[task.job].job;
    for (const auto& [name, amount] : job.resources) {
      std::size_t k = resourceIndex_.at(name);
      fw.allocated[k] -= amount;
      used_[k] -= amount;
    }
    recomputeShare(fw);
    --fw.running;
    ++fw.finished;
    JobState& js = jobs_[task.job];
    ++js.finished;
    js.lastFinish = now_;
    if (js.finished == job.tasks) run_.completionTimes.push_back(now_ - job.submit);
    lastFinish_ = now_;
    lastProgress_ = now_;
    allocator_.recover(fw.name, task.agent, task.taken, 0, now_);
    dirty_ = true;
  }
  return {};
}

Status Simulation::submitJobs(double upTo) {
  while (nextJob_ < jobs_.size() && jobs_[nextJob_].job->submit <= upTo) {
    std::size_t j = nextJob_++;
    const Job& job = *jobs_[j].job;
    advance(job.submit);
    std::size_t f = frameworkIndex_.at(job.framework);
    FrameworkState& fw = frameworks_[f];
    touch(fw);
    fw.queues.at(job.role).insert(j);
    fw.pendingTasks += job.tasks;
    pendingTasks_ += job.tasks;
    lastProgress_ = now_;
    dirty_ = true;
    if (Status s = sync(f); !s.ok()) return s;
  }
  return {};
}

namespace {

bool matches(const std::map<std::string, std::string>& constraints,
             const std::map<std::string, std::string>& attributes) {
  for (const auto& [name, value] : constraints) {
    auto it = attributes.find(name);
    if (it == attributes.end() || it->second != value) return false;
  }
  return true;
}

using ResourceList = google::protobuf::RepeatedPtrField<v1::Resource>;

// Splits `offered` into what a task of `shape` uses (taken from the offered
// resources in their order, reserved or not) and the rest; false when it does
// not fit.
bool split(const ResourceList& offered, const Quantities& shape, ResourceList* taken, ResourceList* rest) {
  for (const auto& [name, amount] : shape) {
    double have = 0;
    for (const v1::Resource& r : offered) {
      if (r.name() == name && r.type() == v1::Value::SCALAR) have += r.scalar().value();
    }
    if (have + kEpsilon < amount) return false;
  }
  Quantities need = shape;
  for (const v1::Resource& r : offered) {
    auto it = need.find(r.name());
    if (it == need.end() || it->second <= kEpsilon || r.type() != v1::Value::SCALAR) {
      *rest->Add() = r;
      continue;
    }
    // Three decimals, as resources are kept, so that what goes back adds up.
    const double amount = std::min(it->second, r.scalar().value());
    const double left = std::round((r.scalar().value() - amount) * 1000) / 1000;
    it->second -= amount;
    v1::Resource* part = taken->Add();
    *part = r;
    part->mutable_scalar()->set_value(amount);
    if (left > 0) {
      v1::Resource* remainder = rest->Add();
      *remainder = r;
      remainder->mutable_scalar()->set_value(left);
    }
  }
  return true;
}

}  // namespace

Status Simulation::handleOffer(const v1::AllocatorOffer& offer, bool* launched) {
  auto fit = frameworkIndex_.find(offer.framework_id().value());
  if (fit == frameworkIndex_.end()) {
    return internalError("the allocator offered to unknown framework '" + offer.framework_id().value() + "'");
  }
  auto agent = agents_.find(offer.agent_id().value());
  if (agent == agents_.end()) {
    return internalError("the allocator offered unknown agent '" + offer.agent_id().value() + "'");
  }
  std::size_t f = fit->second;
  FrameworkState& fw = frameworks_[f];
  ++run_.offers;
  auto queue = fw.queues.find(offer.role());
  if (queue == fw.queues.end() || queue->second.empty()) {
    // Nothing left to run in that role (its last task went on an earlier
    // offer of this cycle; the role is suppressed now): back unfiltered.
    ++run_.declined;
    allocator_.recover(fw.name, agent->first, offer.resources(), 0, now_);
    dirty_ = true;
    return {};
  }
  const std::size_t j = *queue->second.begin();
  const Job& job = *jobs_[j].job;
  ResourceList taken, rest;
  if (!matches(job.constraints, agent->second.attributes) || !split(offer.resources(), job.resources, &taken, &rest)) {
    ++run_.declined;
    allocator_.recover(fw.name, agent->first, offer.resources(), options_.refuseSeconds, now_);
    filters_.push(now_ + options_.refuseSeconds);
    return {};
  }
  touch(fw);
  JobState& js = jobs_[j];
  ++js.launched;
  --fw.pendingTasks;
  --pendingTasks_;
  for (const auto& [name, amount] : job.resources) {
    std::size_t k = resourceIndex_.at(name);
    fw.allocated[k] += amount;
    used_[k] += amount;
  }
  recomputeShare(fw);
  fw.peakRunning = std::max(fw.peakRunning, ++fw.running);
  run_.queueingDelays.push_back(now_ - job.submit);
  running_.push(RunningTask{now_ + job.duration, seq_++, f, j, agent->first, std::move(taken)});
  allocator_.recover(fw.name, agent->first, rest, 0, now_);
  if (js.launched == job.tasks) {
    queue->second.erase(queue->second.begin());
    if (Status s = sync(f); !s.ok()) return s;
  }
  *launched = true;
  lastProgress_ = now_;
  return {};
}

Status Simulation::cycle() {
  ++run_.cycles;
  lastCycle_ = now_;
  dirty_ = false;
  while (!filters_.empty() && filters_.top() < now_) filters_.pop();
  double cpu = threadCpuSeconds();
  responseArena_.Reset();
  Result<v1::AllocateResponse*> response = allocator_.allocate(now_, &responseArena_);
  run_.allocatorCpuSeconds += threadCpuSeconds() - cpu;
  if (!response.ok()) return response.error();
  bool launched = false;
  for (const v1::AllocatorOffer& offer : (*response)->offers()) {
    if (Status s = handleOffer(offer, &launched); !s.ok()) return s;
  }
  // A launch gave the rest of its offer back unfiltered: others may use it.
  if (launched) dirty_ = true;
  return {};
}

double Simulation::nextCycleTime() const {
  constexpr double kNever = std::numeric_limits<double>::infinity();
  if (pendingTasks_ == 0) return kNever;
  const double interval = options_.allocationInterval;
  double at = kNever;
  if (dirty_) {
    at = std::ceil(now_ / interval - kEpsilon) * interval;
  } else if (!filters_.empty()) {
    // The first tick after the earliest filter ends.
    at = (std::floor(filters_.top() / interval + kEpsilon) + 1) * interval;
  }
  return std::max(at, lastCycle_ + interval);
}

RunReport Simulation::finish() {
  const double span = now_ - start_;
  sampleUntil(now_ + kEpsilon);
  for (FrameworkState& fw : frameworks_) touch(fw);
  run_.resourceNames = resourceNames_;
  for (std::size_t k = 0; k < total_.size(); ++k) {
    run_.utilisation.push_back(span > 0 && total_[k] > 0 ? usedIntegral_[k] / span / total_[k] : 0);
  }
  double sum = 0, squares = 0;
  int n = 0;
  for (const FrameworkState& fw : frameworks_) {
    FrameworkResult r;
    r.name = fw.name;
    r.peakRunningTasks = fw.peakRunning;
    r.meanDominantShare = span > 0 ? fw.shareIntegral / span : 0;
    r.tasksFinished = fw.finished;
    run_.frameworks.push_back(r);
    if (fw.pendingTime > 0) {
      double x = fw.pendingShareIntegral / fw.pendingTime;
      sum += x;
      squares += x * x;
      ++n;
    }
  }
  run_.jainFairness = n > 0 && squares > 0 ? sum * sum / (n * squares) : 1.0;
  run_.tasksUnfinished = pendingTasks_ + static_cast<std::int64_t>(running_.size());
  run_.makespan = (run_.tasksUnfinished == 0 ? lastFinish_ : now_) - start_;
  run_.endTime = now_;
  run_.allocatorWallSeconds = allocator_.wallSeconds();
  std::sort(run_.queueingDelays.begin(), run_.queueingDelays.end());
  std::sort(run_.completionTimes.begin(), run_.completionTimes.end());
  run_.jct = {percentile(run_.completionTimes, 0.5), percentile(run_.completionTimes, 0.95),
              percentile(run_.completionTimes, 0.99)};
  run_.queueing = {percentile(run_.queueingDelays, 0.5), percentile(run_.queueingDelays, 0.95), std::nullopt};
  return std::move(run_);
}

Result<RunReport> Simulation::run() {
  auto wallStart = std::chrono::steady_clock::now();
  const double cpuStart = threadCpuSeconds();
  start_ = trace_.jobs.empty() ? 0 : trace_.jobs.front().submit;
  if (start_ > options_.until) start_ = options_.until;
  now_ = start_;
  lastProgress_ = start_;
  nextSample_ = start_;
  double horizon = 0;
  for (const Job& job : trace_.jobs) horizon = std::max(horizon, job.submit + job.duration);
  horizon = std::min(horizon, options_.until) - start_;
  sampleStep_ = std::max(horizon / std::max(options_.samples, 1), options_.allocationInterval);
  if (Status s = setUp(); !s.ok()) return s.error();
  for (FrameworkState& fw : frameworks_) fw.last = start_;

  constexpr double kNever = std::numeric_limits<double>::infinity();
  const double patience = 2 * options_.refuseSeconds + 2 * options_.allocationInterval;
  while (true) {
    double next = kNever;
    if (nextJob_ < jobs_.size()) next = std::min(next, jobs_[nextJob_].job->submit);
    if (!running_.empty()) next = std::min(next, running_.top().end);
    const double cycleAt = nextCycleTime();
    next = std::min(next, cycleAt);
    if (next == kNever) break;
    // Pending tasks nothing will ever place: no task runs, none will come,
    // and cycles after every filter ended launched nothing.
    if (running_.empty() && nextJob_ == jobs_.size() && next - lastProgress_ > patience) break;
    if (next > options_.until) {
      advance(options_.until);
      break;
    }
    if (Status s = finishTasks(next); !s.ok()) return s.error();
    if (Status s = submitJobs(next); !s.ok()) return s.error();
    advance(next);
    if (cycleAt <= next) {
      if (Status s = cycle(); !s.ok()) return s.error();
    }
  }
  RunReport result = finish();
  result.wallSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wallStart).count();
  result.cpuSeconds = threadCpuSeconds() - cpuStart;
  return result;
}

}  // namespace

Result<RunReport> simulate(const Cluster& cluster, const Trace& trace, modules::Instance& allocator,
                           const Options& options) {
  if (!(options.allocationInterval > 0)) return invalidArgument("the allocation interval must be positive");
  if (options.refuseSeconds < 0) return invalidArgument("the refuse seconds must not be negative");
  Simulation simulation(cluster, trace, allocator, options);
  return simulation.run();
}

}  // namespace mantle::sim
