#include "agent_sim/agent_simulator.hpp"

#include <sys/resource.h>

#include <glog/logging.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <cstdlib>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "mantle/internal/agent_master.pb.h"
#include "resources/resources.hpp"
#include "wire/host_port.hpp"
#include "wire/recordio.hpp"
#include "wire/task_state.hpp"
#include "zookeeper/master_detector.hpp"

namespace mantle::agent_sim {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
namespace v1 = ::mesos::v1;

namespace {

constexpr char kPath[] = "/internal/v1/agent";
constexpr char kStreamIdHeader[] = "Mantle-Stream-Id";
constexpr char kVersion[] = "0.1.0";
constexpr std::size_t kMaxHead = 64 * 1024;
constexpr auto kUpdateRetry = std::chrono::seconds(10);

double secondsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

asio::steady_timer::duration seconds(double s) {
  return std::chrono::duration_cast<asio::steady_timer::duration>(std::chrono::duration<double>(s));
}

// host and port of "http://host:port[/...]".
Result<std::pair<std::string, std::string>> hostPort(const std::string& url) {
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  rest = rest.substr(0, rest.find('/'));
  Result<wire::HostPort> address = wire::parseHostPort(rest);
  if (!address.ok()) return invalidArgument("master '" + url + "': " + address.error().message);
  return std::make_pair(address->host, std::to_string(address->port));
}

std::string randomUuidBytes(std::mt19937_64& random) {
  std::string bytes(16, '\0');
  for (int i = 0; i < 16; i += 8) {
    const std::uint64_t r = random();
    for (int j = 0; j < 8; ++j) bytes[i + j] = static_cast<char>((r >> (8 * j)) & 0xff);
  }
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);
  return bytes;
}

}  // namespace

std::string Report::toText() const {
  std::ostringstream out;
  out << "agents " << agents << " connected " << connected << " ever_registered " << everRegistered << " | registered "
      << registrations << " reregistered " << reregistrations << " disconnects " << disconnects << " refusals "
      << refusals << " shutdowns " << shutdowns << " | launches " << launches << " kills " << kills << " tasks_live "
      << tasksLive << " running " << tasksRunning << " finished " << tasksFinished << " failed " << tasksFailed
      << " killed " << tasksKilled << " | updates_sent " << updatesSent << " acks " << acknowledgements << " unacked "
      << unacknowledged << " unknown_reconciled " << unknownReconciled << " call_failures " << callFailures
      << " events " << events;
  if (allRegisteredSeconds > 0) out << " | all registered after " << allRegisteredSeconds << " s";
  if (allConnectedSinceLeaderSeconds > 0) {
    out << " | all connected " << allConnectedSinceLeaderSeconds << " s after the leader change";
  }
  out << " | leader " << (leader.empty() ? "(none)" : leader);
  return out.str();
}

struct AgentSimulator::Impl : std::enable_shared_from_this<Impl> {
  struct Task {
    std::string frameworkId;
    v1::TaskID taskId;
    v1::ExecutorID executorId;
    v1::TaskState state = v1::TASK_STAGING;
    std::deque<internal::StatusUpdate> pending;  // front is in flight
    std::unique_ptr<asio::steady_timer> timer;   // next transition, or retry of the front update
  };

  struct Agent {
    int index = 0;
    std::string id;  // "" until REGISTERED
    v1::AgentInfo info;
    std::map<std::string, v1::FrameworkInfo> frameworks;
    std::map<std::string, Task> tasks;  // by task id
    std::unique_ptr<tcp::socket> stream;
    std::string streamId;
    std::string inbox;  // bytes read, not yet parsed
    bool headDone = false;
    std::size_t chunkLeft = 0;  // bytes of the current chunk still to come
    bool inChunk = false;
    wire::RecordDecoder decoder;
    bool connected = false;  // (RE)REGISTERED on the current stream
    bool queued = false;     // waiting for a registration slot
    bool stopped = false;    // got SHUTDOWN
    bool everRegistered = false;
    double backoff = 0.5;
    std::uint64_t generation = 0;  // bumps when a stream is dropped
    std::unique_ptr<asio::steady_timer> retry;
    // Its share of the report's task counts as of the last snapshot; `dirty`
    // once its tasks may have changed since (snapshots recount only those).
    std::int64_t tasksLive = 0;
    std::int64_t unacknowledged = 0;
    bool dirty = true;
  };

  struct CallConnection {
    std::unique_ptr<tcp::socket> socket;
    std::deque<std::pair<int, std::string>> queue;  // agent index, request bytes
    bool busy = false;
    boost::beast::flat_buffer buffer;
    std::unique_ptr<bhttp::response_parser<bhttp::string_body>> parser;
  };

  explicit Impl(Options o) : options(std::move(o)), random(options.seed) {}

  Options options;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::unique_ptr<zookeeper::MasterDetector> detector;
  std::mt19937_64 random;
  std::vector<Agent> agents;
  std::vector<CallConnection> calls;
  std::size_t nextCall = 0;
  std::optional<tcp::endpoint> master;  // the leader's endpoint; unset while none
  std::string leaderUrl;
  std::string hostHeader;
  bool loopback = false;
  int pendingRegistrations = 0;
  std::deque<int> waiting;  // agents waiting for a registration slot
  Clock::time_point started;
  Clock::time_point leaderChanged;
  std::optional<Clock::time_point> allRegistered;
  std::optional<Clock::time_point> allConnected;
  int connectedCount = 0;
  int everRegisteredCount = 0;
  Report counters;
  // Task counts of the clean agents plus the dirty ones' last counts; the
  // agents whose tasks may have changed since the last snapshot.
  std::int64_t tasksLive = 0;
  std::int64_t unacknowledged = 0;
  std::vector<int> dirtyAgents;
  std::vector<v1::Resource> resources;
  std::array<char, 64 * 1024> readBuffer{};

  // ---- set-up ----------------------------------------------------------

  void buildAgents() {
    agents.resize(options.agents);
    for (int i = 0; i < options.agents; ++i) {
      Agent& agent = agents[i];
      agent.index = i;
      dirtyAgents.push_back(i);
      agent.info.set_hostname("sim-agent-" + std::to_string(i));
      // Distinct per agent: the master treats a new agent at the address
      // (IP and port) of a disconnected one as its replacement.
      agent.info.set_port(10000 + (i % 50000));
      for (const v1::Resource& r : resources) *agent.info.add_resources() = r;
      v1::Attribute* rack = agent.info.add_attributes();
      rack->set_name("rack");
      rack->set_type(v1::Value::TEXT);
      rack->mutable_text()->set_value("rack-" + std::to_string(i % std::max(1, options.racks)));
      v1::Attribute* index = agent.info.add_attributes();
      index->set_name("sim_index");
      index->set_type(v1::Value::SCALAR);
      index->mutable_scalar()->set_value(i);
      agent.retry = std::make_unique<asio::steady_timer>(io);
      if (options.idPrefix.empty()) continue;
      agent.id = options.idPrefix + "-S" + std::to_string(i);
      agent.info.mutable_id()->set_value(agent.id);
      if (options.tasksPerAgent <= 0) continue;
      v1::FrameworkInfo framework;
      framework.set_user("root");
      framework.set_name("agent-sim");
      framework.mutable_id()->set_value(options.idPrefix + "-framework");
      framework.add_roles("*");
      agent.frameworks[framework.id().value()] = framework;
      for (int t = 0; t < options.tasksPerAgent; ++t) {
        Task& task = agent.tasks[agent.id + "-T" + std::to_string(t)];
        task.frameworkId = framework.id().value();
        task.taskId.set_value(agent.id + "-T" + std::to_string(t));
        task.state = v1::TASK_RUNNING;
      }
    }
  }

  // ---- leader ----------------------------------------------------------

  // On the io thread.
  void setLeader(const std::optional<std::string>& url) {
    if (url.value_or("") == leaderUrl) return;
    leaderUrl = url.value_or("");
    leaderChanged = Clock::now();
    allConnected.reset();
    master.reset();
    if (url) {
      Result<std::pair<std::string, std::string>> hp = hostPort(*url);
      if (!hp.ok()) {
        LOG(ERROR) << hp.error().message;
      } else {
        boost::system::error_code ec;
        tcp::resolver resolver(io);
        auto results = resolver.resolve(hp->first, hp->second, ec);
        if (ec || results.empty()) {
          LOG(ERROR) << "Cannot resolve the master " << *url << ": " << ec.message();
        } else {
          master = results.begin()->endpoint();
          loopback = master->address().is_loopback();
          hostHeader = hp->first + ":" + hp->second;
        }
      }
    }
    LOG(INFO) << "Leading master: " << (leaderUrl.empty() ? "(none)" : leaderUrl);
    for (CallConnection& c : calls) {
      if (c.socket) {
        boost::system::error_code ignored;
        c.socket->close(ignored);
      }
    }
    // Every agent drops its stream and registers with the new leader at once.
    waiting.clear();
    pendingRegistrations = 0;
    for (Agent& agent : agents) {
      agent.queued = false;  // `waiting` no longer holds it
      dropStream(agent, /*count=*/agent.stream != nullptr);
      agent.backoff = 0.5;
      agent.retry->cancel();
      if (master && !agent.stopped) enqueue(agent);
    }
    pump();
  }

  // ---- registration ----------------------------------------------------

  void enqueue(Agent& agent) {
    if (agent.queued || agent.stream || agent.stopped) return;
    agent.queued = true;
    waiting.push_back(agent.index);
  }

  void pump() {
    while (master && pendingRegistrations < options.maxPendingRegistrations && !waiting.empty()) {
      Agent& agent = agents[waiting.front()];
      waiting.pop_front();
      agent.queued = false;
      if (agent.stream || agent.stopped) continue;
      ++pendingRegistrations;
      openStream(agent);
    }
  }

  internal::Call registrationCall(const Agent& agent) const {
    internal::Call call;
    if (agent.id.empty()) {
      call.set_type(internal::Call::REGISTER);
      internal::Call::Register* reg = call.mutable_registration();
      *reg->mutable_agent_info() = agent.info;
      reg->set_version(kVersion);
      return call;
    }
    call.set_type(internal::Call::REREGISTER);
    call.mutable_agent_id()->set_value(agent.id);
    internal::Call::Reregister* rr = call.mutable_reregistration();
    *rr->mutable_agent_info() = agent.info;
    rr->mutable_agent_info()->mutable_id()->set_value(agent.id);
    rr->set_version(kVersion);
    std::map<std::string, internal::FrameworkState*> states;
    for (const auto& [taskId, task] : agent.tasks) {
      if (wire::isTerminal(task.state) && task.pending.empty()) continue;
      internal::FrameworkState*& state = states[task.frameworkId];
      if (!state) {
        state = rr->add_frameworks();
        *state->mutable_framework_info() = agent.frameworks.at(task.frameworkId);
      }
      v1::Task* reported = state->add_tasks();
      reported->set_name(taskId);
      *reported->mutable_task_id() = task.taskId;
      reported->mutable_framework_id()->set_value(task.frameworkId);
      reported->mutable_agent_id()->set_value(agent.id);
      if (task.executorId.value().size() > 0) *reported->mutable_executor_id() = task.executorId;
      // The latest state the agent knows, as the real agent reports it.
      reported->set_state(task.pending.empty() ? task.state : task.pending.back().status().state());
      for (const internal::StatusUpdate& u : task.pending) *reported->add_statuses() = u.status();
    }
    return call;
  }

  std::string httpRequest(const std::string& body, const std::string& streamId) const {
    std::string request = std::string("POST ") + kPath + " HTTP/1.1\r\nHost: " + hostHeader +
                          "\r\nContent-Type: application/x-protobuf\r\nAccept: application/x-protobuf\r\n";
    if (!streamId.empty()) request += std::string(kStreamIdHeader) + ": " + streamId + "\r\n";
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    request += body;
    return request;
  }

  void openStream(Agent& agent) {
    agent.stream = std::make_unique<tcp::socket>(io);
    agent.inbox.clear();
    agent.headDone = false;
    agent.inChunk = false;
    agent.chunkLeft = 0;
    agent.decoder = wire::RecordDecoder();
    agent.streamId.clear();
    const std::uint64_t generation = ++agent.generation;
    boost::system::error_code ec;
    agent.stream->open(master->protocol(), ec);
    if (!ec && loopback && master->address().is_v4()) {
      const int k = 1 + agent.index / std::max(1, options.agentsPerSourceAddress);
      agent.stream->bind(tcp::endpoint(asio::ip::make_address_v4("127.0." + std::to_string(k) + ".1"), 0), ec);
    }
    if (ec) return streamEnded(agent, generation, "socket: " + ec.message());
    auto request = std::make_shared<std::string>(httpRequest(registrationCall(agent).SerializeAsString(), ""));
    agent.stream->async_connect(*master, [this, &agent, generation, request](boost::system::error_code ec) {
      if (generation != agent.generation) return;
      if (ec) return streamEnded(agent, generation, "connect: " + ec.message());
      asio::async_write(*agent.stream, asio::buffer(*request),
                        [this, &agent, generation, request](boost::system::error_code ec, std::size_t) {
                          if (generation != agent.generation) return;
                          if (ec) return streamEnded(agent, generation, "write: " + ec.message());
                          agent.stream->non_blocking(true, ec);
                          waitForData(agent, generation);
                        });
    });
  }

  // Waits for readability and reads into the shared buffer: no buffer per
  // idle agent.
  void waitForData(Agent& agent, std::uint64_t generation) {
    agent.stream->async_wait(tcp::socket::wait_read, [this, &agent, generation](boost::system::error_code ec) {
      if (generation != agent.generation) return;
      if (ec) return streamEnded(agent, generation, "wait: " + ec.message());
      while (true) {
        boost::system::error_code readError;
        const std::size_t n = agent.stream->read_some(asio::buffer(readBuffer), readError);
        if (readError == asio::error::would_block || readError == asio::error::try_again) break;
        if (readError) return streamEnded(agent, generation, readError.message());
        agent.inbox.append(readBuffer.data(), n);
        if (n < readBuffer.size()) break;
      }
      std::string failure;
      if (!parseStream(agent, &failure)) return streamEnded(agent, generation, failure);
      if (generation == agent.generation && agent.stream) waitForData(agent, generation);
    });
  }

  // Consumes agent.inbox: the response head, then chunks of RecordIO events.
  // Returns false when the stream must end (with the reason).
  bool parseStream(Agent& agent, std::string* failure) {
    const std::uint64_t generation = agent.generation;
    if (!agent.headDone) {
      const std::size_t end = agent.inbox.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (agent.inbox.size() > kMaxHead) return *failure = "response head too long", false;
        return true;
      }
      const std::string head = agent.inbox.substr(0, end);
      agent.inbox.erase(0, end + 4);
      agent.headDone = true;
      const std::size_t space = head.find(' ');
      const int status = space == std::string::npos ? 0 : std::atoi(head.c_str() + space + 1);
      if (status != 200) {
        ++counters.refusals;
        return *failure = "master answered " + std::to_string(status) + " to " +
                          (agent.id.empty() ? "REGISTER" : "REREGISTER"),
               false;
      }
      const std::string key = std::string("\r\n") + kStreamIdHeader + ": ";
      const std::size_t at = head.find(key);
      if (at != std::string::npos) {
        const std::size_t from = at + key.size();
        agent.streamId = head.substr(from, head.find("\r\n", from) - from);
      }
    }
    std::size_t pos = 0;
    std::string payload;
    while (pos < agent.inbox.size()) {
      if (agent.inChunk) {
        const std::size_t take = std::min(agent.chunkLeft, agent.inbox.size() - pos);
        payload.append(agent.inbox, pos, take);
        pos += take;
        agent.chunkLeft -= take;
        if (agent.chunkLeft > 0) break;
        agent.inChunk = false;
        continue;
      }
      const std::size_t eol = agent.inbox.find("\r\n", pos);
      if (eol == std::string::npos) break;
      if (eol == pos) {  // the CRLF after a chunk's data
        pos += 2;
        continue;
      }
      const std::size_t size = std::strtoull(agent.inbox.c_str() + pos, nullptr, 16);
      pos = eol + 2;
      if (size == 0) return *failure = "the master closed the stream", false;
      agent.inChunk = true;
      agent.chunkLeft = size;
    }
    agent.inbox.erase(0, pos);
    std::vector<std::string> records;
    Status decoded = agent.decoder.feed(payload, &records);
    for (const std::string& record : records) {
      internal::Event event;
      if (!event.ParseFromString(record)) return *failure = "undecodable event", false;
      handle(agent, event);
      if (generation != agent.generation) return true;  // the event ended the stream
    }
    if (!decoded.ok()) return *failure = "bad RecordIO: " + decoded.error().message, false;
    return true;
  }

  void dropStream(Agent& agent, bool count) {
    ++agent.generation;
    if (agent.stream) {
      boost::system::error_code ignored;
      agent.stream->close(ignored);
      agent.stream.reset();
      if (count) ++counters.disconnects;
    }
    if (agent.connected) --connectedCount;
    agent.connected = false;
    agent.streamId.clear();
  }

  void streamEnded(Agent& agent, std::uint64_t generation, const std::string& why) {
    if (generation != agent.generation) return;
    const bool wasPending = !agent.connected;
    dropStream(agent, true);
    if (wasPending && pendingRegistrations > 0) --pendingRegistrations;
    VLOG(1) << "Agent " << agent.index << ": stream ended (" << why << ")";
    if (!agent.stopped && master) {
      std::uniform_real_distribution<double> jitter(0.1 * agent.backoff, agent.backoff);
      agent.retry->expires_after(seconds(jitter(random)));
      agent.backoff = std::min(agent.backoff * 2, 60.0);
      agent.retry->async_wait([this, &agent](boost::system::error_code ec) {
        if (ec) return;
        enqueue(agent);
        pump();
      });
    }
    pump();
  }

  // ---- events ----------------------------------------------------------

  void registeredOn(Agent& agent, const std::string& id) {
    agent.id = id;
    agent.info.mutable_id()->set_value(id);
    if (!agent.connected) {
      agent.connected = true;
      ++connectedCount;
      if (pendingRegistrations > 0) --pendingRegistrations;
    }
    agent.backoff = 0.5;
    if (!agent.everRegistered) {
      agent.everRegistered = true;
      if (++everRegisteredCount == options.agents) allRegistered = Clock::now();
    }
    if (connectedCount == options.agents && !allConnected) allConnected = Clock::now();
    // Unacknowledged updates go again on the new stream.
    for (auto& [taskId, task] : agent.tasks) {
      if (!task.pending.empty()) sendFront(agent, task);
    }
    pump();
  }

  void markDirty(Agent& agent) {
    if (agent.dirty) return;
    agent.dirty = true;
    dirtyAgents.push_back(agent.index);
  }

  void handle(Agent& agent, const internal::Event& event) {
    ++counters.events;
    markDirty(agent);
    switch (event.type()) {
      case internal::Event::REGISTERED:
        ++counters.registrations;
        registeredOn(agent, event.registered().agent_id().value());
        break;
      case internal::Event::REREGISTERED:
        ++counters.reregistrations;
        for (const v1::FrameworkInfo& f : event.reregistered().frameworks()) agent.frameworks[f.id().value()] = f;
        registeredOn(agent, event.reregistered().agent_id().value());
        break;
      case internal::Event::RUN_TASK: {
        const auto& run = event.run_task();
        agent.frameworks[run.framework_info().id().value()] = run.framework_info();
        launch(agent, run.framework_info().id().value(), run.task());
        break;
      }
      case internal::Event::RUN_TASK_GROUP: {
        const auto& run = event.run_task_group();
        agent.frameworks[run.framework_info().id().value()] = run.framework_info();
        for (const v1::TaskInfo& task : run.task_group().tasks()) {
          v1::TaskInfo copy = task;
          *copy.mutable_executor() = run.executor();
          launch(agent, run.framework_info().id().value(), copy);
        }
        break;
      }
      case internal::Event::KILL_TASK: {
        ++counters.kills;
        auto t = agent.tasks.find(event.kill_task().task_id().value());
        if (t != agent.tasks.end() && !wire::isTerminal(t->second.state)) {
          // A pending RUNNING timer must not fire after the kill; an update
          // in flight keeps its retry timer.
          if (t->second.timer && t->second.pending.empty()) t->second.timer->cancel();
          transition(agent, t->second, v1::TASK_KILLED);
        }
        break;
      }
      case internal::Event::ACKNOWLEDGE: {
        auto t = agent.tasks.find(event.acknowledge().task_id().value());
        if (t == agent.tasks.end() || t->second.pending.empty() ||
            t->second.pending.front().uuid() != event.acknowledge().uuid()) {
          break;
        }
        ++counters.acknowledgements;
        Task& task = t->second;
        task.pending.pop_front();
        if (!task.pending.empty()) {
          sendFront(agent, task);
        } else if (wire::isTerminal(task.state)) {
          agent.tasks.erase(t);  // acknowledged to the end: forgotten
        } else if (task.timer) {
          // The retry timer of the acknowledged update; the next transition
          // (if any) was scheduled on the same timer and is re-armed here.
          scheduleFinish(agent, task);
        }
        break;
      }
      case internal::Event::RECONCILE_TASKS:
        for (const auto& item : event.reconcile_tasks().tasks()) {
          if (!agent.tasks.count(item.task_id().value())) ++counters.unknownReconciled;
        }
        break;
      case internal::Event::PING: {
        internal::Call pong;
        pong.set_type(internal::Call::PONG);
        pong.mutable_pong()->set_sequence(event.ping().sequence());
        sendCall(agent, pong);
        break;
      }
      case internal::Event::SHUTDOWN_FRAMEWORK: {
        const std::string& frameworkId = event.shutdown_framework().framework_id().value();
        std::erase_if(agent.tasks, [&](const auto& entry) { return entry.second.frameworkId == frameworkId; });
        agent.frameworks.erase(frameworkId);
        break;
      }
      case internal::Event::SHUTDOWN:
        ++counters.shutdowns;
        LOG(WARNING) << "Agent " << agent.index << " (" << agent.id
                     << ") shut down by the master: " << event.shutdown().message();
        agent.stopped = true;
        agent.tasks.clear();
        if (!agent.connected && pendingRegistrations > 0) --pendingRegistrations;
        dropStream(agent, false);
        break;
      case internal::Event::ERROR:
        ++counters.refusals;
        LOG(WARNING) << "Agent " << agent.index << " refused: " << event.error().message();
        break;
      default: break;  // HEARTBEAT, UPDATE_FRAMEWORK, messages, operations: nothing to do
    }
  }

  void launch(Agent& agent, const std::string& frameworkId, const v1::TaskInfo& info) {
    ++counters.launches;
    Task& task = agent.tasks[info.task_id().value()];
    task.frameworkId = frameworkId;
    task.taskId = info.task_id();
    if (info.has_executor()) task.executorId = info.executor().executor_id();
    task.state = v1::TASK_STAGING;
    task.pending.clear();
    task.timer = std::make_unique<asio::steady_timer>(io);
    const std::string taskId = info.task_id().value();
    task.timer->expires_after(seconds(options.runningDelaySeconds));
    task.timer->async_wait([this, &agent, taskId](boost::system::error_code ec) {
      if (ec) return;
      auto t = agent.tasks.find(taskId);
      if (t == agent.tasks.end() || t->second.state != v1::TASK_STAGING) return;
      transition(agent, t->second, v1::TASK_RUNNING);
    });
  }

  // Arms the task's end after RUNNING was acknowledged.
  void scheduleFinish(Agent& agent, Task& task) {
    if (task.state != v1::TASK_RUNNING || options.taskDurationSeconds < 0) return;
    const std::string taskId = task.taskId.value();
    task.timer->expires_after(seconds(options.taskDurationSeconds));
    task.timer->async_wait([this, &agent, taskId](boost::system::error_code ec) {
      if (ec) return;
      auto t = agent.tasks.find(taskId);
      if (t == agent.tasks.end() || t->second.state != v1::TASK_RUNNING || !t->second.pending.empty()) return;
      std::uniform_real_distribution<double> unit(0, 1);
      transition(agent, t->second, unit(random) < options.failureRatio ? v1::TASK_FAILED : v1::TASK_FINISHED);
    });
  }

  void transition(Agent& agent, Task& task, v1::TaskState state) {
    markDirty(agent);
    task.state = state;
    if (state == v1::TASK_RUNNING) ++counters.tasksRunning;
    if (state == v1::TASK_FINISHED) ++counters.tasksFinished;
    if (state == v1::TASK_FAILED) ++counters.tasksFailed;
    if (state == v1::TASK_KILLED) ++counters.tasksKilled;
    internal::StatusUpdate update;
    update.mutable_framework_id()->set_value(task.frameworkId);
    if (!task.executorId.value().empty()) *update.mutable_executor_id() = task.executorId;
    update.mutable_agent_id()->set_value(agent.id);
    v1::TaskStatus* status = update.mutable_status();
    *status->mutable_task_id() = task.taskId;
    status->set_state(state);
    status->set_source(v1::TaskStatus::SOURCE_EXECUTOR);
    status->mutable_agent_id()->set_value(agent.id);
    const std::string uuid = randomUuidBytes(random);
    status->set_uuid(uuid);
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    status->set_timestamp(now);
    update.set_timestamp(now);
    update.set_uuid(uuid);
    update.set_latest_state(state);
    task.pending.push_back(std::move(update));
    if (task.pending.size() == 1) sendFront(agent, task);
  }

  void sendFront(Agent& agent, Task& task) {
    if (task.pending.empty()) return;
    internal::Call call;
    call.set_type(internal::Call::STATUS_UPDATE);
    *call.mutable_status_update()->mutable_update() = task.pending.front();
    call.mutable_status_update()->mutable_update()->set_latest_state(task.state);
    ++counters.updatesSent;
    sendCall(agent, call);
    // Retried until acknowledged (re-registration also resends it).
    if (!task.timer) task.timer = std::make_unique<asio::steady_timer>(io);
    const std::string taskId = task.taskId.value();
    const std::string uuid = task.pending.front().uuid();
    task.timer->expires_after(kUpdateRetry);
    task.timer->async_wait([this, &agent, taskId, uuid](boost::system::error_code ec) {
      if (ec) return;
      auto t = agent.tasks.find(taskId);
      if (t == agent.tasks.end() || t->second.pending.empty() || t->second.pending.front().uuid() != uuid) return;
      if (agent.connected) sendFront(agent, t->second);
    });
  }

  // ---- calls -------------------------------------------------------------

  void sendCall(Agent& agent, internal::Call call) {
    if (!agent.connected || agent.streamId.empty() || !master) return;  // resent after re-registration
    call.mutable_agent_id()->set_value(agent.id);
    CallConnection& c = calls[nextCall++ % calls.size()];
    c.queue.emplace_back(agent.index, httpRequest(call.SerializeAsString(), agent.streamId));
    if (!c.busy) sendNext(c);
  }

  void sendNext(CallConnection& c) {
    if (c.queue.empty() || !master) {
      c.busy = false;
      return;
    }
    c.busy = true;
    if (!c.socket || !c.socket->is_open()) {
      c.socket = std::make_unique<tcp::socket>(io);
      c.buffer.clear();
      c.socket->async_connect(*master, [this, &c](boost::system::error_code ec) {
        if (ec) return callFailed(c, true);
        boost::system::error_code ignored;
        c.socket->set_option(tcp::no_delay(true), ignored);
        writeFront(c);
      });
      return;
    }
    writeFront(c);
  }

  void writeFront(CallConnection& c) {
    asio::async_write(
        *c.socket, asio::buffer(c.queue.front().second), [this, &c](boost::system::error_code ec, std::size_t) {
          if (ec) return callFailed(c, true);
          c.parser = std::make_unique<bhttp::response_parser<bhttp::string_body>>();
          c.parser->body_limit(1 << 20);
          bhttp::async_read(*c.socket, c.buffer, *c.parser, [this, &c](boost::system::error_code ec, std::size_t) {
            if (ec) return callFailed(c, true);
            const int status = static_cast<int>(c.parser->get().result_int());
            const int index = c.queue.front().first;
            const bool keepAlive = c.parser->get().keep_alive();
            c.queue.pop_front();
            if (status >= 300) {
              ++counters.callFailures;
              // 400/404/409: the master does not know this stream: register again.
              if (status == 400 || status == 404 || status == 409) {
                Agent& agent = agents[index];
                if (agent.stream) streamEnded(agent, agent.generation, "call answered " + std::to_string(status));
              }
            }
            if (!keepAlive) {
              boost::system::error_code ignored;
              c.socket->close(ignored);
            }
            sendNext(c);
          });
        });
  }

  void callFailed(CallConnection& c, bool reconnect) {
    ++counters.callFailures;
    if (!c.queue.empty()) c.queue.pop_front();  // status updates are retried by their timers
    if (reconnect && c.socket) {
      boost::system::error_code ignored;
      c.socket->close(ignored);
    }
    sendNext(c);
  }

  // ---- report --------------------------------------------------------------

  // Recounts only the agents whose tasks may have changed since the last
  // one: a report every 20 ms must not walk 400,000 tasks on the thread
  // that drives every agent.
  Report snapshot() {
    Report r = counters;
    r.agents = options.agents;
    r.connected = connectedCount;
    r.everRegistered = everRegisteredCount;
    for (int index : dirtyAgents) recount(agents[index]);
    dirtyAgents.clear();
    r.tasksLive = tasksLive;
    r.unacknowledged = unacknowledged;
    if (allRegistered) r.allRegisteredSeconds = secondsBetween(started, *allRegistered);
    if (allConnected) r.allConnectedSinceLeaderSeconds = secondsBetween(leaderChanged, *allConnected);
    r.leader = leaderUrl;
    return r;
  }

  void recount(Agent& agent) {
    tasksLive -= agent.tasksLive;
    unacknowledged -= agent.unacknowledged;
    agent.tasksLive = 0;
    agent.unacknowledged = 0;
    for (const auto& [id, task] : agent.tasks) {
      if (!wire::isTerminal(task.state)) ++agent.tasksLive;
      agent.unacknowledged += static_cast<std::int64_t>(task.pending.size());
    }
    tasksLive += agent.tasksLive;
    unacknowledged += agent.unacknowledged;
    agent.dirty = false;
  }
};

Result<std::unique_ptr<AgentSimulator>> AgentSimulator::create(Options options) {
  if (options.master.empty()) return invalidArgument("--master is required");
  if (options.agents < 1 || options.agents > 1000000) return invalidArgument("--agents must be in [1, 1000000]");
  if (options.tasksPerAgent < 0) return invalidArgument("--tasks_per_agent must not be negative");
  if (options.tasksPerAgent > 0 && options.idPrefix.empty()) {
    return invalidArgument("--tasks_per_agent needs --id_prefix (running tasks need agent and framework ids)");
  }
  if (options.failureRatio < 0 || options.failureRatio > 1) return invalidArgument("--failure_ratio must be in [0, 1]");
  if (options.runningDelaySeconds < 0) return invalidArgument("--running_delay must not be negative");
  if (options.callConnections < 1) return invalidArgument("--call_connections must be at least 1");
  if (options.maxPendingRegistrations < 1) return invalidArgument("--max_pending_registrations must be at least 1");
  if (options.agentsPerSourceAddress < 1) return invalidArgument("--agents_per_source_address must be at least 1");
  Result<resources::Resources> parsedResources = resources::Resources::parse(options.resources);
  if (!parsedResources.ok()) return invalidArgument("--resources: " + parsedResources.error().message);
  // One descriptor per agent stream, plus calls, ZooKeeper and slack.
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  const rlim_t needed = static_cast<rlim_t>(options.agents) + options.callConnections + 64;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    return invalidArgument("--agents=" + std::to_string(options.agents) + " needs " + std::to_string(needed) +
                           " open files, but RLIMIT_NOFILE allows " + std::to_string(limit.rlim_cur) +
                           " (raise the hard limit: ulimit -Hn)");
  }
  auto impl = std::make_shared<Impl>(std::move(options));
  for (const v1::Resource& r : parsedResources->items()) impl->resources.push_back(r);
  impl->buildAgents();
  impl->calls.resize(impl->options.callConnections);
  return std::unique_ptr<AgentSimulator>(new AgentSimulator(std::move(impl)));
}

AgentSimulator::AgentSimulator(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

AgentSimulator::~AgentSimulator() {
  stop();
}

Status AgentSimulator::start() {
  Impl& impl = *impl_;
  impl.started = Clock::now();
  impl.leaderChanged = impl.started;
  impl.work.emplace(impl.io.get_executor());
  impl.thread = std::thread([&impl] { impl.io.run(); });
  if (zookeeper::isZooKeeperMaster(impl.options.master)) {
    Result<std::unique_ptr<zookeeper::MasterDetector>> detector =
        zookeeper::MasterDetector::create(impl.options.master, [&impl](const std::optional<std::string>& leader) {
          asio::post(impl.io, [&impl, leader] { impl.setLeader(leader); });
        });
    if (!detector.ok()) return detector.error();
    impl.detector = std::move(*detector);
  } else {
    asio::post(impl.io, [&impl] { impl.setLeader(zookeeper::fixedMasterBaseUrl(impl.options.master)); });
  }
  return Status();
}

void AgentSimulator::stop() {
  Impl& impl = *impl_;
  impl.detector.reset();
  if (!impl.thread.joinable()) return;
  asio::post(impl.io, [&impl] {
    for (Impl::Agent& agent : impl.agents) {
      impl.dropStream(agent, false);
      agent.retry->cancel();
      for (auto& [id, task] : agent.tasks) {
        if (task.timer) task.timer->cancel();
      }
    }
    for (Impl::CallConnection& c : impl.calls) {
      if (c.socket) {
        boost::system::error_code ignored;
        c.socket->close(ignored);
      }
    }
    impl.work.reset();
    impl.io.stop();
  });
  impl.thread.join();
}

Report AgentSimulator::report() const {
  Impl& impl = *impl_;
  if (!impl.thread.joinable() || impl.io.stopped()) return impl.snapshot();
  std::promise<Report> promise;
  std::future<Report> future = promise.get_future();
  asio::post(impl.io, [&impl, &promise] { promise.set_value(impl.snapshot()); });
  return future.get();
}

}  // namespace mantle::agent_sim
