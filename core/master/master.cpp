// Lifecycle, HTTP routing and request checks, allocation and offers,
// heartbeats, the registry.
#include "master/master.hpp"

#include <arpa/inet.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>

#include <google/protobuf/arena.h>

#include "http/api_request.hpp"
#include "mantle/modules/defaults.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/modules/report.hpp"
#include "master/master_impl.hpp"
#include "master/ui_server.hpp"
#include "master/validation.hpp"
#include "resources/format.hpp"
#include "wire/host_port.hpp"
#include "wire/recordio.hpp"

namespace mantle::master {

#ifndef MANTLE_VERSION
#define MANTLE_VERSION "0.1.0"
#endif
const char* const kVersion = MANTLE_VERSION;

std::string ipOf(const std::string& address) {
  return wire::hostOf(address);
}

namespace {

// How much nicer than the master a render thread runs (docs/MASTER.md,
// "Threads"): an operator fetching state in a loop cannot take the CPU that
// offers and status updates need.
constexpr int kRenderNice = 10;

// Names the calling thread "master-render" and lowers its priority.
void becomeRenderThread() {
  pthread_setname_np(pthread_self(), "master-render");
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, tid);
  if (errno == 0 && setpriority(PRIO_PROCESS, tid, std::min(nice + kRenderNice, 19)) == 0) return;
  PLOG(WARNING) << "the render thread runs at the master's priority";
}

}  // namespace

// ---------------------------------------------------------------------------
// Lifecycle

MasterImpl::MasterImpl(MasterFlags flags)
    : flags_(std::move(flags)),
      allocator_([this] { return steadyNow(); }, [this](const Error&) { count("master/allocator_errors"); }),
      offerBook_(allocator_,
                 [this](const std::string& frameworkId, const std::string& offerId) {
                   auto f = frameworks_.find(frameworkId);
                   if (f == frameworks_.end()) return;
                   v1::scheduler::Event event;
                   event.set_type(v1::scheduler::Event::RESCIND);
                   event.mutable_rescind()->mutable_offer_id()->set_value(offerId);
                   sendEvent(f->second, event);
                 }),
      registrar_(stateIo_, stopped_,
                 Registrar::Master{
                     .state = [this](bool withAgents) { return recordedState(withAgents); },
                     .mayWrite = [this] { return recovered_ && leading_; },
                     .fence = [this] { return contender_ ? contender_->candidacyPath() : std::string(); },
                     .stepDown = [this](const std::string& why) { stepDown(why); },
                 }),
      verbosity_(std::make_unique<logging::Verbosity>(stateIo_.get_executor())) {}

MasterImpl::~MasterImpl() {
  stop();
}

Status MasterImpl::start() {
  startTime_ = wallNow();
  steadyStart_ = std::chrono::steady_clock::now();
  masterId_ = uuid::randomText();
  offerBook_.setIdPrefix(masterId_);

  // Modules: the allocator is the only kind the master needs today.
  modules::Manifest manifest;
  std::string manifestArg = flags_.modules ? *flags_.modules : modules::defaultManifestPath();
  if (Status s = modules::loadManifest(manifestArg, manifest); !s.ok()) {
    return s.error().withContext("--modules");
  }
  // The master loads the allocators, the instances --hooks names and the
  // security modules; other kinds in a shared manifest are the agent's
  // business and are not loaded here.
  std::vector<std::string> hookNames;
  for (std::size_t begin = 0; begin <= flags_.hooks.size();) {
    std::size_t end = flags_.hooks.find(',', begin);
    if (end == std::string::npos) end = flags_.hooks.size();
    if (end > begin) hookNames.push_back(flags_.hooks.substr(begin, end - begin));
    begin = end + 1;
  }
  modules::Manifest masterManifest;
  for (const modules::ModuleSpec& spec : manifest.modules) {
    const bool hook = std::find(hookNames.begin(), hookNames.end(), spec.instance) != hookNames.end();
    if (spec.kind == "allocator" || spec.instance == flags_.allocator || hook) {
      if (Status s = masterManifest.add(spec); !s.ok()) return s.error().withContext("--modules");
    }
  }
  if (Status s = auth::addSecurityModules(flags_.security, manifest, masterManifest, auth::Side::kMaster); !s.ok()) {
    return s.error().withContext("security modules");
  }
  manifest = std::move(masterManifest);
  modules::RegistryOptions options;
  options.searchDirs.push_back(modules::builtinModuleDir());
  if (!flags_.workDir.empty()) options.stateRoot = flags_.workDir + "/modules";
  modules_ = std::make_unique<modules::Registry>(options);
  if (Status s = modules_->load(manifest); !s.ok()) return s.error().withContext("loading modules");
  for (const std::string& warning : modules_->warnings()) LOG(WARNING) << warning;
  Result<std::shared_ptr<modules::Instance>> allocator = modules_->create("allocator", flags_.allocator);
  if (!allocator.ok()) return allocator.error().withContext("--allocator=" + flags_.allocator);
  allocator_.attach(*allocator);
  Result<std::vector<std::shared_ptr<modules::Instance>>> hooks = modules_->createAll("hook", hookNames);
  if (!hooks.ok()) return hooks.error().withContext("--hooks");
  hooks_ = std::make_unique<hooks::HookChain>(std::move(*hooks));
  Result<std::unique_ptr<auth::Security>> security =
      auth::createSecurity(flags_.security, *modules_, auth::Side::kMaster);
  if (!security.ok()) return security.error().withContext("security");
  security_ = std::move(*security);

  if (!flags_.workDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(flags_.workDir, ec);
    if (ec) return invalidArgument("--work_dir: cannot create '" + flags_.workDir + "': " + ec.message());
    registrar_.useFile(RegistryFile(flags_.workDir + "/master/registry.json"));
  }

  http::ServerOptions serverOptions;
  // A v0 driver's connection to the master is its link: never idled out.
  serverOptions.persistent = libprocess::isMessage;
  if (flags_.security.tls()) {
    serverOptions.tls = http::TlsOptions{*flags_.security.sslCert, *flags_.security.sslKey,
                                         flags_.security.sslCa.value_or(""), flags_.security.sslRequireClientCert};
  }
  server_ = std::make_unique<http::Server>(
      httpIo_, [this](const http::Request& request, const http::Responder& responder) { handle(request, responder); },
      serverOptions);
  Result<std::uint16_t> port = server_->listen(flags_.ip, static_cast<std::uint16_t>(flags_.port));
  if (!port.ok()) return port.error().withContext("--ip/--port");
  port_ = *port;

  std::string hostname = flags_.hostname;
  if (hostname.empty()) {
    char buffer[256] = {0};
    if (::gethostname(buffer, sizeof(buffer) - 1) == 0) hostname = buffer;
    if (hostname.empty()) hostname = flags_.ip;
  }
  std::string advertisedIp = flags_.ip == "0.0.0.0" ? "127.0.0.1" : flags_.ip;
  in_addr address{};
  ::inet_pton(AF_INET, advertisedIp.c_str(), &address);
  masterInfo_.set_id(masterId_);
  masterInfo_.set_ip(address.s_addr);
  masterInfo_.set_port(port_);
  masterInfo_.set_pid("master@" + advertisedIp + ":" + std::to_string(port_));
  masterInfo_.set_hostname(hostname);
  masterInfo_.set_version(kVersion);
  masterInfo_.mutable_address()->set_hostname(hostname);
  masterInfo_.mutable_address()->set_ip(advertisedIp);
  masterInfo_.mutable_address()->set_port(port_);
  masterInfo_.add_capabilities()->set_type(v1::MasterInfo::Capability::AGENT_UPDATE);
  masterInfo_.add_capabilities()->set_type(v1::MasterInfo::Capability::AGENT_DRAINING);
  masterInfo_.add_capabilities()->set_type(v1::MasterInfo::Capability::QUOTA_V2);
  if (Status s = startV0(); !s.ok()) return s;

  if (flags_.zk) {
    // With --zk the registry is read once this master is elected (on the
    // state thread); until then it is a standby.
    if (Status s = startHa(); !s.ok()) return s;
  } else {
    // Recovery runs before any request is served (the state thread is not
    // running yet), so nothing races with it.
    if (Status s = recover(); !s.ok()) return s;
    recovered_ = true;
  }

  stateWork_.emplace(asio::make_work_guard(stateIo_));
  httpWork_.emplace(asio::make_work_guard(httpIo_));
  if (!haEnabled()) post([this] { scheduleTimers(); });
  stateThread_ = std::thread([this] { stateIo_.run(); });
  for (std::int64_t i = 0; i < flags_.httpThreads; ++i) httpThreads_.emplace_back([this] { httpIo_.run(); });
  renderWork_.emplace(asio::make_work_guard(renderIo_));
  for (std::int64_t i = 0; i < flags_.httpThreads; ++i) {
    renderThreads_.emplace_back([this] {
      becomeRenderThread();
      renderIo_.run();
    });
  }
  LOG(INFO) << "Master " << masterId_ << " (" << hostname << ") listening on " << flags_.ip << ":" << port_
            << " with allocator '" << flags_.allocator << "'";
  return {};
}

void MasterImpl::wait() {
  std::unique_lock<std::mutex> lock(waitMutex_);
  waitCv_.wait(lock, [this] { return done_; });
}

void MasterImpl::stop() {
  if (stopped_.exchange(true)) return;
  stopHa();
  if (server_) server_->stop();
  // Close streams on the state thread, then let both contexts drain.
  if (stateThread_.joinable()) {
    std::promise<void> done;
    auto future = done.get_future();
    post([this, &done] {
      for (auto& [id, f] : frameworks_) {
        if (f.sink) f.sink->close();
      }
      for (auto& [id, a] : agents_) {
        if (a.stream) a.stream->close();
      }
      for (auto& s : subscribers_) s.stream->close();
      registrar_.stop();
      for (TimerPtr* t : {&allocationTimer_, &heartbeatTimer_, &recoveredAgentsTimer_}) {
        if (*t) (*t)->cancel();
      }
      for (auto& [id, f] : frameworks_) {
        if (f.failoverTimer) f.failoverTimer->cancel();
      }
      for (auto& [id, a] : agents_) {
        if (a.reregisterTimer) a.reregisterTimer->cancel();
      }
      done.set_value();
    });
    future.wait_for(std::chrono::seconds(5));
  }
  stateWork_.reset();
  httpWork_.reset();
  renderWork_.reset();
  stateIo_.stop();
  httpIo_.stop();
  renderIo_.stop();
  if (stateThread_.joinable() && stateThread_.get_id() != std::this_thread::get_id()) stateThread_.join();
  for (auto* threads : {&httpThreads_, &renderThreads_}) {
    for (auto& t : *threads) {
      if (t.joinable()) t.join();
    }
  }
  // The chain holds the hook instances; it goes before the registry.
  hooks_.reset();
  std::lock_guard<std::mutex> lock(waitMutex_);
  done_ = true;
  waitCv_.notify_all();
}

double MasterImpl::steadyNow() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - steadyStart_).count();
}

// ---------------------------------------------------------------------------
// Registry

Status MasterImpl::recover() {
  Result<RegistryState> state = registrar_.loadFile();
  if (!state.ok()) return state.error().withContext("recovering the registry");
  applyRegistry(*state, registrar_.filePath().empty() ? "" : " at " + registrar_.filePath());
  return {};
}

void MasterImpl::applyRegistry(const RegistryState& state, const std::string& where) {
  for (const std::string& id : state.goneAgents) goneAgents_.insert(id);
  for (const v1::AgentInfo& info : state.agents) {
    if (!goneAgents_.count(info.id().value())) recoveredAgents_[info.id().value()] = info;
  }
  for (const v1::FrameworkInfo& info : state.frameworks) {
    const std::string& id = info.id().value();
    Framework& f = frameworks_[id];
    f.id = id;
    f.info = info;
    f.recovered = true;
    f.registeredTime = wallNow();
    module::v1::AllocatorAddFramework add;
    *add.mutable_framework_info() = convert<module::v1::FrameworkInfo>(info).value();
    add.set_active(false);
    allocator_.addFramework(add);
  }
  if (!state.weights.empty()) {
    module::v1::AllocatorUpdateWeights request;
    for (const auto& [role, weight] : state.weights) {
      weights_[role] = weight;
      auto* w = request.add_weights();
      w->set_role(role);
      w->set_weight(weight);
    }
    allocator_.updateWeights(request);
  }
  for (const v1::quota::QuotaConfig& config : state.quotas) {
    quotas_[config.role()] = config;
    module::v1::AllocatorUpdateQuota request;
    request.set_role(config.role());
    for (const auto* map : {&config.guarantees(), &config.limits()}) {
      auto* out = map == &config.guarantees() ? request.mutable_guarantees() : request.mutable_limits();
      for (const auto& [name, scalar] : *map) {
        module::v1::Resource* r = out->Add();
        r->set_name(name);
        r->set_type(module::v1::Value::SCALAR);
        r->mutable_scalar()->set_value(scalar.value());
      }
    }
    allocator_.updateQuota(request);
  }
  maintenanceSchedule_ = state.schedule;
  machines_ = state.machines;
  LOG(INFO) << "Recovered " << recoveredAgents_.size() << " agents, " << frameworks_.size() << " frameworks, "
            << weights_.size() << " weights, " << quotas_.size() << " quotas and a maintenance schedule of "
            << maintenanceSchedule_.windows_size() << " windows from the registry" << where;
}

RegistryState MasterImpl::recordedState(bool withAgents) const {
  RegistryState state;
  if (withAgents) {
    for (const auto& [id, agent] : agents_) state.agents.push_back(agent.info);
    for (const auto& [id, info] : recoveredAgents_) state.agents.push_back(info);
    for (const auto& [id, info] : unreachableAgents_) state.agents.push_back(info);
  }
  state.goneAgents.assign(goneAgents_.begin(), goneAgents_.end());
  for (const auto& [id, f] : frameworks_) state.frameworks.push_back(f.info);
  state.weights = weights_;
  for (const auto& [role, config] : quotas_) state.quotas.push_back(config);
  state.schedule = maintenanceSchedule_;
  state.machines = machines_;
  return state;
}

void MasterImpl::agentsChanged() {
  registrar_.persist();
}

// ---------------------------------------------------------------------------
// Timers

void MasterImpl::scheduleTimers() {
  auto every = [this](TimerPtr& timer, double seconds, void (MasterImpl::*fn)()) {
    timer = std::make_shared<asio::steady_timer>(stateIo_);
    auto interval =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
    std::weak_ptr<asio::steady_timer> weak = timer;
    auto loop = std::make_shared<std::function<void()>>();
    *loop = [this, weak, interval, fn, loop]() {
      auto t = weak.lock();
      if (!t) return;
      t->expires_after(interval);
      t->async_wait([this, fn, loop](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        (this->*fn)();
        (*loop)();
      });
    };
    (*loop)();
  };
  every(allocationTimer_, flags_.allocationInterval, &MasterImpl::tick);
  every(heartbeatTimer_, std::min(flags_.heartbeatInterval, flags_.agentHeartbeatInterval), &MasterImpl::heartbeatTick);
  if (!recoveredAgents_.empty()) {
    recoveredAgentsTimer_ = std::make_shared<asio::steady_timer>(stateIo_);
    recoveredAgentsTimer_->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(flags_.agentReregisterTimeout)));
    recoveredAgentsTimer_->async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopped_) recoveredAgentTimeout();
    });
  }
  requestAllocation();
}

void MasterImpl::tick() {
  if (!leading_) return;  // suspended (--zk): no offers until leadership resumes
  if (flags_.offerTimeout > 0) {
    double now = steadyNow();
    for (const std::string& id : offerBook_.expired(now, flags_.offerTimeout)) {
      count("master/offers_timed_out");
      offerBook_.remove(id, /*rescind=*/true);
    }
  }
  allocate();
}

void MasterImpl::heartbeatTick() {
  // One timer drives both kinds of heartbeat; each goes out at its own
  // interval (rounded to the shorter one).
  double& lastFramework = lastFrameworkHeartbeat_;
  double& lastAgent = lastAgentHeartbeat_;
  double now = steadyNow();
  const double slack = 0.05;
  if (now - lastFramework + slack >= flags_.heartbeatInterval) {
    lastFramework = now;
    v1::scheduler::Event event;
    event.set_type(v1::scheduler::Event::HEARTBEAT);
    for (auto& [id, f] : frameworks_) {
      if (f.connected) sendEvent(f, event);
    }
    v1::master::Event op;
    op.set_type(v1::master::Event::HEARTBEAT);
    emitOperatorEvent(op);
  }
  if (now - lastAgent + slack >= flags_.agentHeartbeatInterval) {
    lastAgent = now;
    internal::Event event;
    event.set_type(internal::Event::HEARTBEAT);
    for (const auto& [id, a] : std::as_const(agents_)) {
      if (a.connected) sendAgentEvent(a, event);
    }
  }
}

// ---------------------------------------------------------------------------
// Allocation and offers

void MasterImpl::requestAllocation() {
  if (allocationRequested_) return;
  allocationRequested_ = true;
  post([this] {
    allocationRequested_ = false;
    if (!stopped_) allocate();
  });
}

v1::URL MasterImpl::agentUrl(const Agent& agent) const {
  v1::URL url;
  url.set_scheme("http");
  url.mutable_address()->set_hostname(agent.info.hostname());
  url.mutable_address()->set_ip(ipOf(agent.address));
  url.mutable_address()->set_port(agent.info.port());
  url.set_path("/slave(1)");
  return url;
}

void MasterImpl::allocate() {
  updateInverseOffers();
  auto begin = std::chrono::steady_clock::now();
  Result<module::v1::AllocateResponse> response = allocator_.allocate();
  lastAllocationMs_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
  count("allocator/mesos/allocation_runs");
  if (!response.ok()) return;  // logged and counted by the client
  // One OFFERS event per framework, on an arena: each offer is copied into it
  // without an allocation per field and dropped with it at once.
  google::protobuf::Arena arena;
  std::map<std::string, v1::scheduler::Event*> events;
  const double now = steadyNow();
  int made = 0;
  for (const module::v1::AllocatorOffer& allocated : response->offers()) {
    const std::string& frameworkId = allocated.framework_id().value();
    const std::string& agentId = allocated.agent_id().value();
    google::protobuf::RepeatedPtrField<v1::Resource> list;
    Status converted;
    for (const auto& r : allocated.resources()) {
      Result<v1::Resource> resource = convert<v1::Resource>(r);
      if (!resource.ok()) {
        converted = resource.error();
        break;
      }
      *list.Add() = std::move(*resource);
    }
    Result<Resources> resources = converted.ok() ? Resources::from(list) : Result<Resources>(converted.error());
    if (!resources.ok()) {
      LOG(ERROR) << "allocator offered invalid resources: " << resources.error().message;
      continue;
    }
    auto f = frameworks_.find(frameworkId);
    auto a = agents_.find(agentId);
    if (f == frameworks_.end() || !f->second.active || !f->second.connected || a == agents_.end() ||
        !a->second.connected || a->second.deactivated || a->second.drain) {
      allocator_.recoverResources(frameworkId, agentId, *resources, 0);
      continue;
    }
    Framework& framework = f->second;
    Agent& agent = a->second;
    if (framework.offerConstraints.excludes(allocated.role(), agent.info)) {
      // The allocator ABI has no offer constraints: what it allocates outside
      // them goes back, filtered for a while so that others get it meanwhile.
      count("master/offers_excluded_by_constraints");
      allocator_.recoverResources(frameworkId, agentId, *resources, kOfferConstraintRefuseSeconds);
      continue;
    }
    v1::Offer offer;
    offer.mutable_id()->set_value(offerBook_.nextId());
    offer.mutable_framework_id()->set_value(frameworkId);
    offer.mutable_agent_id()->set_value(agentId);
    offer.set_hostname(agent.info.hostname());
    resources->copyTo(offer.mutable_resources());
    *offer.mutable_attributes() = agent.info.attributes();
    if (agent.info.has_domain()) *offer.mutable_domain() = agent.info.domain();
    if (std::optional<v1::Unavailability> u = agentUnavailability(agent)) *offer.mutable_unavailability() = *u;
    offer.mutable_allocation_info()->set_role(allocated.role());
    *offer.mutable_url() = agentUrl(agent);
    auto ex = framework.executors.find(agentId);
    if (ex != framework.executors.end()) {
      for (const auto& [executorId, info] : ex->second) offer.add_executor_ids()->set_value(executorId);
    }
    v1::scheduler::Event*& event = events[frameworkId];
    if (event == nullptr) {
      event = google::protobuf::Arena::CreateMessage<v1::scheduler::Event>(&arena);
      event->set_type(v1::scheduler::Event::OFFERS);
    }
    *event->mutable_offers()->add_offers() = offer;
    offerBook_.add(
        {frameworkId, agentId, now, std::make_shared<const OfferPiece>(std::move(offer), std::move(*resources))});
    ++made;
  }
  count("master/messages_offers", made);
  for (auto& [frameworkId, event] : events) sendEvent(frameworks_.at(frameworkId), event);
}

// ---------------------------------------------------------------------------
// HTTP routing (HTTP threads)

void MasterImpl::handle(const http::Request& request, const http::Responder& responder) {
  // libprocess messages (v0 drivers) share the port; SASL, not HTTP
  // authentication, covers them.
  if (libprocess_->serve(request, responder)) return;
  std::string path = request.path;
  if (path == "/master" || path == "/master/") {
    path = "/";
  } else if (path.rfind("/master/", 0) == 0) {
    path = path.substr(7);
  }
  if (haEnabled() && answeredAsStandby(path, request, responder)) return;
  // Authentication comes first, once per request (as in Mesos): refused
  // requests learn nothing else about the master.
  std::string realm = realmFor(path);
  auth::AuthResult authn = security_->authentication.authenticate(realm, request);
  if (!authn.allowed()) return responder.respond(authn.response());
  const Principal& principal = authn.principal;
  if (principal && principal->value.empty() && realm == auth::kMasterSchedulerRealm) {
    return responder.respond(http::Response::text(403, "A framework must authenticate with a principal name"));
  }
  if (path == "/api/v1/scheduler") return handleScheduler(request, responder, principal);
  if (path == "/api/v1" || path == "/api/v1/") return handleOperator(request, responder, principal);
  if (path == "/internal/v1/agent") return handleAgent(request, responder, principal);
  handleLegacy(path, request, responder, principal);
}

void MasterImpl::handleScheduler(const http::Request& request, const http::Responder& responder,
                                 const Principal& principal) {
  if (!recovered_) return responder.respond(http::Response::text(503, "Master has not finished recovery"));
  wire::HttpResult<http::ApiCall<v1::scheduler::Call>> read =
      http::readApiCall<v1::scheduler::Call>(request, "a scheduler Call", [](const v1::scheduler::Call& call) {
        return call.type() == v1::scheduler::Call::SUBSCRIBE ? wire::ResponseFraming::kStream
                                                             : wire::ResponseFraming::kSingle;
      });
  if (!read.ok()) return responder.respond(http::errorResponse(read.error()));
  v1::scheduler::Call call = read->call;
  wire::ResponseFormat responseFormat = read->response;
  // Resources in Mesos' pre-refinement format (`role`, `reservation`: what
  // frameworks without RESERVATION_REFINEMENT send) become post-refinement
  // here, once; everything after sees one format, as in Mesos.
  if (Status s = resources::upgradeResources(&call); !s.ok()) {
    return responder.respond(http::Response::text(400, "Failed to validate scheduler::Call: " + s.error().message));
  }
  if (Status valid = validateSchedulerCall(call); !valid.ok()) {
    return responder.respond(http::Response::text(400, "Failed to validate scheduler::Call: " + valid.error().message));
  }
  if (call.type() == v1::scheduler::Call::SUBSCRIBE) {
    if (request.hasHeader(wire::kMesosStreamIdHeader)) {
      return responder.respond(
          http::Response::text(400, "Subscribe calls should not include the 'Mesos-Stream-Id' header"));
    }
    const v1::FrameworkInfo& info = call.subscribe().framework_info();
    if (principal && info.has_principal() && info.principal() != principal->value) {
      return responder.respond(http::Response::text(
          400, "Failed to validate scheduler::Call: authenticated principal '" + principal->value +
                   "' does not match principal '" + info.principal() + "' set in 'FrameworkInfo'"));
    }
    if (Status authorized = authorizeSubscribe(call, principal); !authorized.ok()) {
      // As Mesos: the subscription stream opens, carries one ERROR, closes.
      std::shared_ptr<http::Stream> stream =
          responder.stream(200, {{"Content-Type", std::string(responseFormat.contentType())}});
      v1::scheduler::Event event;
      event.set_type(v1::scheduler::Event::ERROR);
      event.mutable_error()->set_message(authorized.error().message);
      stream->write(wire::encodeRecord(wire::encode(event, responseFormat.message)));
      stream->close();
      return;
    }
  }
  std::string streamId = request.header(wire::kMesosStreamIdHeader);
  post([self = shared_from_this(), call = std::move(call), streamId = std::move(streamId), responseFormat, responder,
        principal]() mutable {
    self->schedulerCall(std::move(call), std::move(streamId), responseFormat, responder, principal);
  });
}

void MasterImpl::handleOperator(const http::Request& request, const http::Responder& responder,
                                const Principal& principal) {
  if (!recovered_) return responder.respond(http::Response::text(503, "Master has not finished recovery"));
  wire::HttpResult<http::ApiCall<v1::master::Call>> read =
      http::readApiCall<v1::master::Call>(request, "a master Call", [](const v1::master::Call& call) {
        return call.type() == v1::master::Call::SUBSCRIBE ? wire::ResponseFraming::kStream
                                                          : wire::ResponseFraming::kSingle;
      });
  if (!read.ok()) return responder.respond(http::errorResponse(read.error()));
  v1::master::Call call = read->call;
  const wire::ResponseFormat negotiated = read->response;
  // As from frameworks: operators' resources may be in the pre-refinement format.
  if (Status s = resources::upgradeResources(&call); !s.ok()) {
    return responder.respond(http::Response::text(400, "Failed to validate master::Call: " + s.error().message));
  }
  if (!call.has_type()) {
    return responder.respond(
        http::Response::text(400, "Failed to validate master::Call: Expecting 'type' to be present"));
  }
  if (security_->authorization.enabled()) {
    if (Status authorized = authorizeOperatorCall(call, principal); !authorized.ok()) {
      return responder.respond(http::Response::error(authorized.error()));
    }
    switch (call.type()) {
      case v1::master::Call::TEARDOWN:
        if (call.has_teardown()) return authorizeTeardown(std::move(call), negotiated, responder, principal);
        break;
      case v1::master::Call::GET_STATE:
      case v1::master::Call::GET_FRAMEWORKS:
      case v1::master::Call::GET_TASKS:
      case v1::master::Call::GET_EXECUTORS: return filteredStateCall(std::move(call), negotiated, responder, principal);
      case v1::master::Call::SUBSCRIBE:
        // Its state and events filtered by the principal's view_* ACLs.
        return post([self = shared_from_this(), format = negotiated, responder, principal] {
          self->count("master/calls/operator/SUBSCRIBE");
          self->subscribeOperator(format, responder,
                                  std::make_shared<auth::RequestAuthorizer>(self->security_->authorization, principal));
        });
      default: break;
    }
  }
  post([self = shared_from_this(), call = std::move(call), format = negotiated, responder]() mutable {
    self->operatorCall(std::move(call), format, responder);
  });
}

void MasterImpl::handleAgent(const http::Request& request, const http::Responder& responder,
                             const Principal& principal) {
  if (!recovered_) return responder.respond(http::Response::text(503, "Master has not finished recovery"));
  wire::HttpResult<wire::RequestFormat> format = http::apiRequestFormat(request);
  if (!format.ok()) return responder.respond(http::errorResponse(format.error()));
  if (format->message != wire::MediaType::kProtobuf) {
    return responder.respond(
        http::Response::text(415, "The agent protocol takes only 'application/x-protobuf' bodies"));
  }
  internal::Call call;
  if (!call.ParseFromString(request.body) || !call.IsInitialized()) {
    return responder.respond(http::Response::text(400, "Failed to parse the body into a mantle.internal.Call"));
  }
  if (!security_->authorization.authorize(principal, "register_agents", "")) {
    return responder.respond(
        http::Response::text(403, "Not authorized: " + auth::describe(principal) + " may not 'register_agents'"));
  }
  prepareAgentCall(call);
  post([self = shared_from_this(), call = std::move(call), streamId = request.header(kAgentStreamIdHeader),
        remote = request.remoteAddress,
        responder]() mutable { self->agentCall(std::move(call), std::move(streamId), std::move(remote), responder); });
}

void MasterImpl::handleLegacy(const std::string& path, const http::Request& request, const http::Responder& responder,
                              const Principal& principal) {
  auto self = shared_from_this();
  if (path == "/health") return responder.respond(http::Response{200, {}, ""});
  if (path == "/version") return responder.respond(http::Response::json(200, renderVersion()));
  if (path == "/flags") {
    if (!security_->authorization.authorize(principal, "view_flags", "")) {
      return responder.respond(
          http::Response::text(403, "Not authorized: " + auth::describe(principal) + " may not 'view_flags'"));
    }
    return responder.respond(http::Response::json(200, renderFlags(flags_.values)));
  }
  if (path == "/modules") {
    if (!security_->authorization.authorize(principal, "view_flags", "")) {
      return responder.respond(
          http::Response::text(403, "Not authorized: " + auth::describe(principal) + " may not 'view_flags'"));
    }
    return responder.respond(http::Response::json(200, modules::renderModulesJson(*modules_)));
  }
  if (path == "/redirect") {
    http::Response response{307, {}, ""};
    response.headers.emplace_back("Location", "//" + masterInfo_.hostname() + ":" + std::to_string(port_));
    return responder.respond(std::move(response));
  }
  if (isLegacyOperatorPath(path)) return legacyOperatorEndpoint(path, request, responder, principal);
  if (ui::isAssetPath(path)) return responder.respond(ui::asset(path));
  if (!recovered_) return responder.respond(http::Response::text(503, "Master has not finished recovery"));
  if (ui::isAgentProxyPath(path)) return agentProxy(path, request, responder);
  if (path == "/metrics/snapshot" || path == "/metrics") {
    bool prometheus = path == "/metrics";
    return post([self, prometheus, responder] {
      auto metrics = std::make_shared<std::map<std::string, double>>(self->buildMetrics());
      self->postHttp([self, metrics, prometheus, responder] {
        if (prometheus) {
          http::Response response{
              200, {{"Content-Type", prometheus::kContentType}}, renderPrometheus(*metrics, self->modules_->metrics())};
          responder.respond(std::move(response));
        } else {
          responder.respond(http::Response::json(200, renderMetricsJson(*metrics)));
        }
      });
    });
  }
  if (path == "/explain") {
    std::string frameworkId = request.queryParam("framework_id");
    std::string role = request.queryParam("role");
    if (frameworkId.empty() == role.empty()) {
      return responder.respond(
          http::Response::text(400, "Give exactly one of the query parameters 'framework_id' and 'role'"));
    }
    return post([self, frameworkId, role, responder] {
      responder.respond(http::Response::json(200, self->explainJson(frameworkId, role)));
    });
  }
  if (path == "/maintenance/schedule" || path == "/maintenance/status" || path == "/machine/down" ||
      path == "/machine/up") {
    return legacyMaintenance(path, request, responder, principal);
  }
  enum class Kind { kState, kSummary, kFrameworks, kSlaves, kTasks, kRoles };
  Kind kind;
  if (path == "/state") {
    kind = Kind::kState;
  } else if (path == "/state-summary") {
    kind = Kind::kSummary;
  } else if (path == "/frameworks") {
    kind = Kind::kFrameworks;
  } else if (path == "/slaves") {
    kind = Kind::kSlaves;
  } else if (path == "/tasks") {
    kind = Kind::kTasks;
  } else if (path == "/roles") {
    kind = Kind::kRoles;
  } else {
    return responder.respond(http::Response::text(404, "No endpoint '" + request.path + "'"));
  }
  std::size_t limit = 100, offset = 0;
  bool ascending = request.queryParam("order") != "des";
  try {
    if (!request.queryParam("limit").empty()) limit = std::stoul(request.queryParam("limit"));
    if (!request.queryParam("offset").empty()) offset = std::stoul(request.queryParam("offset"));
  } catch (const std::exception&) {
    return responder.respond(http::Response::text(400, "'limit' and 'offset' must be non-negative integers"));
  }
  post([self, kind, limit, offset, ascending, responder, principal] {
    self->shareSnapshot(
        [self, kind, limit, offset, ascending, responder, principal](const std::shared_ptr<const Snapshot>& shared) {
          auto render = [&](const Snapshot& snapshot) -> http::Body {
            switch (kind) {
              case Kind::kState: return renderState(snapshot);
              case Kind::kSummary: return http::Body(renderStateSummary(snapshot));
              case Kind::kFrameworks: return renderFrameworks(snapshot);
              case Kind::kSlaves: return renderSlaves(snapshot);
              case Kind::kTasks: return renderTasks(snapshot, limit, offset, ascending);
              case Kind::kRoles: return http::Body(renderRoles(snapshot));
            }
            return {};
          };
          auto respond = [&](std::shared_ptr<const http::Body> body) {
            responder.respond(http::Response{200, {{"Content-Type", "application/json"}}, "", std::move(body)});
          };
          if (self->security_->authorization.enabled()) {
            // Filtered for this principal: rendered for it alone.
            v1::master::Response::GetState state = shared->getState();
            self->filterState(&state, principal);
            return respond(std::make_shared<const http::Body>(render(Snapshot::fromState(*shared, std::move(state)))));
          }
          std::string key = std::to_string(static_cast<int>(kind)) + " " + std::to_string(limit) + " " +
                            std::to_string(offset) + " " + (ascending ? "asc" : "des");
          respond(shared->rendered->get(key, [&] { return render(*shared); }));
        });
  });
}

// ---------------------------------------------------------------------------
// Master

Master::Master(MasterFlags flags) : impl_(std::make_shared<MasterImpl>(std::move(flags))) {}
Master::~Master() {
  impl_->stop();
}
Status Master::start() {
  return impl_->start();
}
std::uint16_t Master::port() const {
  return impl_->port();
}
void Master::wait() {
  impl_->wait();
}
void Master::stop() {
  impl_->stop();
}

}  // namespace mantle::master
