// Maintenance primitives (docs/MASTER.md "Maintenance"), as Mesos defines
// them: a schedule of windows (machines + an unavailability), machine modes
// UP / DRAINING / DOWN, START_MAINTENANCE (DRAINING -> DOWN: the machine's
// agents are shut down and may not register) and STOP_MAINTENANCE (DOWN ->
// UP, out of the schedule). Every change is recorded in the registry before
// it is applied and answered. Inverse offers are not made.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "master/master_impl.hpp"
#include "wire/json.hpp"

namespace mantle::master {

using v1::master::Call;
using v1::master::Response;

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// Machine ids are equal when both fields are (hostnames ignoring case).
bool sameMachine(const v1::MachineID& a, const v1::MachineID& b) {
  return lower(a.hostname()) == lower(b.hostname()) && a.ip() == b.ip();
}

std::string machineText(const v1::MachineID& id) {
  if (id.hostname().empty()) return id.ip();
  if (id.ip().empty()) return id.hostname();
  return id.hostname() + " (" + id.ip() + ")";
}

// Whether scheduled `machine` is the machine of an agent on (hostname, ip):
// every field the machine id gives must match.
bool covers(const v1::MachineID& machine, const std::string& hostname, const std::string& ip) {
  if (!machine.hostname().empty() && lower(machine.hostname()) != lower(hostname)) return false;
  if (!machine.ip().empty() && machine.ip() != ip) return false;
  return !machine.hostname().empty() || !machine.ip().empty();
}

Status validateMachine(const v1::MachineID& id) {
  if (id.hostname().empty() && id.ip().empty())
    return invalidArgument("Both 'hostname' and 'ip' of a machine are empty");
  if (!id.ip().empty()) {
    unsigned char buffer[16];
    if (::inet_pton(AF_INET, id.ip().c_str(), buffer) != 1 && ::inet_pton(AF_INET6, id.ip().c_str(), buffer) != 1) {
      return invalidArgument("Machine '" + machineText(id) + "': '" + id.ip() + "' is not an IP address");
    }
  }
  return {};
}

const v1::MachineInfo* findMachine(const std::vector<v1::MachineInfo>& machines, const v1::MachineID& id) {
  for (const v1::MachineInfo& m : machines) {
    if (sameMachine(m.id(), id)) return &m;
  }
  return nullptr;
}

// A machine list of START_MAINTENANCE / STOP_MAINTENANCE: not empty, each
// machine valid and listed once, each in `mode` now.
Status validateTransition(const google::protobuf::RepeatedPtrField<v1::MachineID>& ids,
                          const std::vector<v1::MachineInfo>& machines, v1::MachineInfo::Mode mode) {
  if (ids.empty()) return invalidArgument("The list of machines is empty");
  for (int i = 0; i < ids.size(); ++i) {
    if (Status valid = validateMachine(ids[i]); !valid.ok()) return valid;
    for (int j = 0; j < i; ++j) {
      if (sameMachine(ids[i], ids[j]))
        return invalidArgument("Machine '" + machineText(ids[i]) + "' is listed more than once");
    }
    const v1::MachineInfo* m = findMachine(machines, ids[i]);
    if (m == nullptr)
      return invalidArgument("Machine '" + machineText(ids[i]) + "' is not part of a maintenance schedule");
    if (m->mode() != mode) {
      return invalidArgument("Machine '" + machineText(ids[i]) + "' is " + v1::MachineInfo::Mode_Name(m->mode()) +
                             ", not " + v1::MachineInfo::Mode_Name(mode));
    }
  }
  return {};
}

Status validateSchedule(const v1::maintenance::Schedule& schedule, const std::vector<v1::MachineInfo>& machines) {
  std::vector<v1::MachineID> seen;
  for (int w = 0; w < schedule.windows_size(); ++w) {
    const v1::maintenance::Window& window = schedule.windows(w);
    std::string where = "windows[" + std::to_string(w) + "]";
    if (window.machine_ids().empty()) return invalidArgument(where + ": the window lists no machines");
    if (!window.unavailability().start().has_nanoseconds())
      return invalidArgument(where + ": 'unavailability.start' is missing");
    if (window.unavailability().has_duration() && window.unavailability().duration().nanoseconds() < 0) {
      return invalidArgument(where + ": the unavailability's duration is negative");
    }
    for (const v1::MachineID& id : window.machine_ids()) {
      if (Status valid = validateMachine(id); !valid.ok()) return valid.error().withContext(where);
      for (const v1::MachineID& other : seen) {
        if (sameMachine(id, other))
          return invalidArgument("Machine '" + machineText(id) + "' appears more than once in the schedule");
      }
      seen.push_back(id);
    }
  }
  for (const v1::MachineInfo& m : machines) {
    if (m.mode() != v1::MachineInfo::DOWN) continue;
    bool kept = std::any_of(seen.begin(), seen.end(), [&](const v1::MachineID& id) { return sameMachine(id, m.id()); });
    if (!kept) {
      return invalidArgument("Machine '" + machineText(m.id()) +
                             "' is DOWN: it stays in the schedule until STOP_MAINTENANCE");
    }
  }
  return {};
}

// The machines of `schedule` with their modes: DOWN ones stay DOWN, the
// others are DRAINING; each carries its window's unavailability.
std::vector<v1::MachineInfo> machinesFor(const v1::maintenance::Schedule& schedule,
                                         const std::vector<v1::MachineInfo>& current) {
  std::vector<v1::MachineInfo> out;
  for (const v1::maintenance::Window& window : schedule.windows()) {
    for (const v1::MachineID& id : window.machine_ids()) {
      v1::MachineInfo info;
      *info.mutable_id() = id;
      const v1::MachineInfo* was = findMachine(current, id);
      info.set_mode(was != nullptr && was->mode() == v1::MachineInfo::DOWN ? v1::MachineInfo::DOWN
                                                                           : v1::MachineInfo::DRAINING);
      *info.mutable_unavailability() = window.unavailability();
      out.push_back(std::move(info));
    }
  }
  return out;
}

void markDown(const std::vector<v1::MachineID>& ids, std::vector<v1::MachineInfo>* machines) {
  for (v1::MachineInfo& m : *machines) {
    for (const v1::MachineID& id : ids) {
      if (sameMachine(m.id(), id)) m.set_mode(v1::MachineInfo::DOWN);
    }
  }
}

// STOP_MAINTENANCE: the machines leave the schedule (empty windows go) and
// are UP again.
void bringUp(const std::vector<v1::MachineID>& ids, v1::maintenance::Schedule* schedule,
             std::vector<v1::MachineInfo>* machines) {
  auto listed = [&](const v1::MachineID& id) {
    return std::any_of(ids.begin(), ids.end(), [&](const v1::MachineID& x) { return sameMachine(x, id); });
  };
  std::erase_if(*machines, [&](const v1::MachineInfo& m) { return listed(m.id()); });
  v1::maintenance::Schedule kept;
  for (const v1::maintenance::Window& window : schedule->windows()) {
    v1::maintenance::Window copy = window;
    copy.clear_machine_ids();
    for (const v1::MachineID& id : window.machine_ids()) {
      if (!listed(id)) *copy.add_machine_ids() = id;
    }
    if (copy.machine_ids_size() > 0) *kept.add_windows() = std::move(copy);
  }
  *schedule = std::move(kept);
}

}  // namespace

v1::MachineID MasterImpl::agentMachine(const Agent& agent) const {
  v1::MachineID id;
  id.set_hostname(agent.info.hostname());
  id.set_ip(ipOf(agent.address));
  return id;
}

const v1::MachineInfo* MasterImpl::machineInfo(const v1::MachineID& machine) const {
  for (const v1::MachineInfo& m : machines_) {
    if (covers(m.id(), machine.hostname(), machine.ip())) return &m;
  }
  return nullptr;
}

std::optional<v1::Unavailability> MasterImpl::agentUnavailability(const Agent& agent) const {
  if (machines_.empty()) return std::nullopt;
  const v1::MachineInfo* m = machineInfo(agentMachine(agent));
  if (m == nullptr || m->mode() != v1::MachineInfo::DRAINING) return std::nullopt;
  return m->unavailability();
}

std::string MasterImpl::machineDownMessage(const v1::AgentInfo& info, const std::string& remote) const {
  for (const v1::MachineInfo& m : machines_) {
    if (m.mode() == v1::MachineInfo::DOWN && covers(m.id(), info.hostname(), ipOf(remote))) {
      return "Machine '" + machineText(m.id()) +
             "' is DOWN for maintenance: no agent on it may register until STOP_MAINTENANCE";
    }
  }
  return "";
}

v1::maintenance::ClusterStatus MasterImpl::maintenanceStatus() const {
  v1::maintenance::ClusterStatus status;
  for (const v1::MachineInfo& m : machines_) {
    if (m.mode() == v1::MachineInfo::DRAINING) {
      *status.add_draining_machines()->mutable_id() = m.id();
    } else if (m.mode() == v1::MachineInfo::DOWN) {
      *status.add_down_machines() = m.id();
    }
  }
  addInverseOfferStatuses(&status);
  return status;
}

void MasterImpl::applyMaintenanceSchedule(const v1::maintenance::Schedule& schedule) {
  std::map<std::string, std::string> before;
  for (const auto& [id, agent] : agents_) {
    std::optional<v1::Unavailability> u = agentUnavailability(agent);
    before[id] = u ? u->SerializeAsString() : "";
  }
  machines_ = machinesFor(schedule, machines_);
  maintenanceSchedule_ = schedule;
  // Offers made before say nothing (or something else) about the
  // unavailability: they go, and new ones carry it.
  for (auto& [id, agent] : agents_) {
    std::optional<v1::Unavailability> u = agentUnavailability(agent);
    if (before[id] != (u ? u->SerializeAsString() : "")) offerBook_.rescindOnAgent(agent.id);
  }
  LOG(INFO) << "Maintenance schedule updated: " << schedule.windows_size() << " windows, " << machines_.size()
            << " machines";
  requestAllocation();
}

void MasterImpl::applyStartMaintenance(const std::vector<v1::MachineID>& machines) {
  markDown(machines, &machines_);
  std::vector<std::string> down;
  for (const auto& [id, agent] : agents_) {
    const v1::MachineInfo* m = machineInfo(agentMachine(agent));
    if (m != nullptr && m->mode() == v1::MachineInfo::DOWN) down.push_back(id);
  }
  for (const std::string& id : down) {
    LOG(INFO) << "Shutting down agent " << id << ": its machine is DOWN for maintenance";
    internal::Event shutdown;
    shutdown.set_type(internal::Event::SHUTDOWN);
    shutdown.mutable_shutdown()->set_message("Operator initiated 'Machine DOWN'");
    sendAgentEvent(agents_.at(id), shutdown);
    removeAgent(id, v1::TASK_GONE, v1::TaskStatus::REASON_AGENT_REMOVED, /*unreachable=*/false,
                "Operator initiated 'Machine DOWN'");
  }
}

void MasterImpl::applyStopMaintenance(const std::vector<v1::MachineID>& machines) {
  bringUp(machines, &maintenanceSchedule_, &machines_);
  requestAllocation();
}

void MasterImpl::maintenanceCall(const Call& call, wire::ResponseFormat format, const http::Responder& responder,
                                 bool legacy) {
  auto bad = [&](const std::string& message) { responder.respond(http::Response::text(400, message)); };
  auto answer = [this, responder, format, legacy](const Response& response, const google::protobuf::Message& bare) {
    if (legacy) return responder.respond(http::Response::json(200, wire::toJson(bare)));
    respondMessage(responder, response, format.message);
  };
  switch (call.type()) {
    case Call::GET_MAINTENANCE_SCHEDULE: {
      Response response;
      response.set_type(Response::GET_MAINTENANCE_SCHEDULE);
      *response.mutable_get_maintenance_schedule()->mutable_schedule() = maintenanceSchedule_;
      return answer(response, response.get_maintenance_schedule().schedule());
    }
    case Call::GET_MAINTENANCE_STATUS: {
      Response response;
      response.set_type(Response::GET_MAINTENANCE_STATUS);
      *response.mutable_get_maintenance_status()->mutable_status() = maintenanceStatus();
      return answer(response, response.get_maintenance_status().status());
    }
    case Call::UPDATE_MAINTENANCE_SCHEDULE: {
      if (!call.has_update_maintenance_schedule()) {
        return bad("Failed to validate master::Call: Expecting 'update_maintenance_schedule' to be present");
      }
      v1::maintenance::Schedule schedule = call.update_maintenance_schedule().schedule();
      for (auto& window : *schedule.mutable_windows()) {
        for (auto& id : *window.mutable_machine_ids()) {
          if (id.has_hostname()) id.set_hostname(lower(id.hostname()));
        }
      }
      // Validated against what the registry will hold (queued operations too).
      if (Status valid = validateSchedule(schedule, registrar_.state().machines); !valid.ok()) {
        return bad("Invalid maintenance schedule: " + valid.error().message);
      }
      RegistryOperation op;
      op.stage = [schedule](RegistryState& state) {
        state.machines = machinesFor(schedule, state.machines);
        state.schedule = schedule;
      };
      op.apply = [this, schedule, responder] {
        applyMaintenanceSchedule(schedule);
        responder.respond(http::Response{200, {}, ""});
      };
      op.fail = registryFailure(responder);
      return registrar_.submit(std::move(op));
    }
    case Call::START_MAINTENANCE:
    case Call::STOP_MAINTENANCE: {
      bool start = call.type() == Call::START_MAINTENANCE;
      if (start ? !call.has_start_maintenance() : !call.has_stop_maintenance()) {
        return bad(std::string("Failed to validate master::Call: Expecting '") +
                   (start ? "start_maintenance" : "stop_maintenance") + "' to be present");
      }
      const auto& ids = start ? call.start_maintenance().machines() : call.stop_maintenance().machines();
      std::vector<v1::MachineID> machines;
      for (v1::MachineID id : ids) {
        if (id.has_hostname()) id.set_hostname(lower(id.hostname()));
        machines.push_back(std::move(id));
      }
      google::protobuf::RepeatedPtrField<v1::MachineID> normalized(machines.begin(), machines.end());
      if (Status valid = validateTransition(normalized, registrar_.state().machines,
                                            start ? v1::MachineInfo::DRAINING : v1::MachineInfo::DOWN);
          !valid.ok()) {
        return bad(std::string(start ? "Cannot start" : "Cannot stop") + " maintenance: " + valid.error().message);
      }
      RegistryOperation op;
      if (start) {
        op.stage = [machines](RegistryState& state) { markDown(machines, &state.machines); };
      } else {
        op.stage = [machines](RegistryState& state) { bringUp(machines, &state.schedule, &state.machines); };
      }
      op.apply = [this, start, machines, responder] {
        if (start) {
          applyStartMaintenance(machines);
        } else {
          applyStopMaintenance(machines);
        }
        responder.respond(http::Response{200, {}, ""});
      };
      op.fail = registryFailure(responder);
      return registrar_.submit(std::move(op));
    }
    default: return bad("Not a maintenance call: " + Call::Type_Name(call.type()));
  }
}

void MasterImpl::legacyMaintenance(const std::string& path, const http::Request& request,
                                   const http::Responder& responder, const Principal& principal) {
  Call call;
  bool get = request.method == "GET";
  if (path == "/maintenance/schedule" && get) {
    call.set_type(Call::GET_MAINTENANCE_SCHEDULE);
  } else if (path == "/maintenance/schedule" && request.method == "POST") {
    call.set_type(Call::UPDATE_MAINTENANCE_SCHEDULE);
    v1::maintenance::Schedule* schedule = call.mutable_update_maintenance_schedule()->mutable_schedule();
    Status s = wire::fromJson(request.body, schedule);
    if (s.ok()) s = wire::checkRequiredFields(*schedule);
    if (!s.ok())
      return responder.respond(http::Response::text(400, "Invalid maintenance schedule: " + s.error().message));
  } else if (path == "/maintenance/status" && get) {
    call.set_type(Call::GET_MAINTENANCE_STATUS);
  } else if ((path == "/machine/down" || path == "/machine/up") && request.method == "POST") {
    // The body is a JSON array of machine ids.
    bool down = path == "/machine/down";
    call.set_type(down ? Call::START_MAINTENANCE : Call::STOP_MAINTENANCE);
    Call::StartMaintenance machines;
    Status s = wire::fromJson("{\"machines\":" + request.body + "}", &machines);
    if (!s.ok()) {
      return responder.respond(
          http::Response::text(400, "Expecting a JSON array of machine ids: " + s.error().message));
    }
    if (down) {
      *call.mutable_start_maintenance() = std::move(machines);
    } else {
      *call.mutable_stop_maintenance()->mutable_machines() = machines.machines();
    }
  } else {
    return responder.respond(http::Response::text(405, "Method '" + request.method + "' is not allowed on " + path));
  }
  if (security_->authorization.enabled()) {
    if (Status authorized = authorizeOperatorCall(call, principal); !authorized.ok()) {
      return responder.respond(http::Response::error(authorized.error()));
    }
  }
  post([self = shared_from_this(), call = std::move(call), responder] {
    self->maintenanceCall(call, wire::ResponseFormat{}, responder, /*legacy=*/true);
  });
}

}  // namespace mantle::master
