// Inverse offers, made by the master (the allocator ABI has no call for
// them): each allocation cycle, every active framework using resources
// (tasks, executors or offers) on an agent of a DRAINING machine gets one
// inverse offer for that agent, for all its resources, with the machine's
// unavailability. ACCEPT_INVERSE_OFFERS / DECLINE_INVERSE_OFFERS record the
// answer in the machine's maintenance status and filter the agent for the
// framework for `refuse_seconds` (default 5), after which a new inverse
// offer is made while the framework still uses it. An inverse offer whose
// agent left, whose machine is no longer DRAINING (or has another
// unavailability) or whose framework went inactive is rescinded
// (RESCIND_INVERSE_OFFER). As in Mesos, answers are advisory: nothing is
// killed (docs/MASTER.md, "Maintenance").
#include <algorithm>
#include <cmath>

#include "master/master_impl.hpp"

namespace mantle::master {

namespace {

v1::TimeInfo timeNow() {
  v1::TimeInfo t;
  t.set_nanoseconds(static_cast<std::int64_t>(wallNow() * 1e9));
  return t;
}

}  // namespace

std::string MasterImpl::machineKey(const Agent& agent) const {
  const v1::MachineInfo* m = machineInfo(agentMachine(agent));
  return m == nullptr ? std::string() : m->id().SerializeAsString();
}

void MasterImpl::updateInverseOffers() {
  double now = steadyNow();
  // Outstanding ones that no longer hold are rescinded.
  std::map<std::string, std::vector<std::string>> rescinded;  // framework id -> inverse offer ids
  for (auto it = inverseOffers_.begin(); it != inverseOffers_.end();) {
    const InverseOfferEntry& entry = it->second;
    auto a = agents_.find(entry.agentId);
    auto f = frameworks_.find(entry.frameworkId);
    std::optional<v1::Unavailability> u;
    if (a != agents_.end() && a->second.connected) u = agentUnavailability(a->second);
    bool holds = u && u->SerializeAsString() == entry.offer.unavailability().SerializeAsString() &&
                 f != frameworks_.end() && f->second.active && f->second.connected;
    if (holds) {
      ++it;
      continue;
    }
    if (f != frameworks_.end() && f->second.connected) rescinded[entry.frameworkId].push_back(it->first);
    it = inverseOffers_.erase(it);
  }
  for (const auto& [frameworkId, ids] : rescinded) {
    for (const std::string& id : ids) {
      v1::scheduler::Event event;
      event.set_type(v1::scheduler::Event::RESCIND_INVERSE_OFFER);
      event.mutable_rescind_inverse_offer()->mutable_inverse_offer_id()->set_value(id);
      sendEvent(frameworks_.at(frameworkId), event);
    }
  }
  std::erase_if(inverseOfferFilters_, [now](const auto& filter) { return filter.second <= now; });

  // Answers are kept while their machine is DRAINING.
  std::set<std::string> draining;
  for (const v1::MachineInfo& m : machines_) {
    if (m.mode() == v1::MachineInfo::DRAINING) draining.insert(m.id().SerializeAsString());
  }
  std::erase_if(inverseOfferStatuses_, [&](const auto& entry) { return !draining.count(entry.first); });
  if (draining.empty()) return;

  // New ones.
  std::map<std::string, v1::scheduler::Event> events;
  for (auto& [agentId, agent] : agents_) {
    if (!agent.connected) continue;
    std::optional<v1::Unavailability> u = agentUnavailability(agent);
    if (!u) continue;
    std::string machine = machineKey(agent);
    for (const auto& [frameworkId, resources] : usedOnAgent(agent, /*includeOffers=*/true)) {
      auto f = frameworks_.find(frameworkId);
      if (resources.empty() || f == frameworks_.end() || !f->second.active || !f->second.connected) continue;
      if (inverseOfferFilters_.count({frameworkId, agentId})) continue;
      bool outstanding = std::any_of(inverseOffers_.begin(), inverseOffers_.end(), [&](const auto& entry) {
        return entry.second.frameworkId == frameworkId && entry.second.agentId == agentId;
      });
      if (outstanding) continue;
      InverseOfferEntry entry;
      entry.frameworkId = frameworkId;
      entry.agentId = agentId;
      v1::InverseOffer& offer = entry.offer;
      std::string id = offerBook_.nextId();
      offer.mutable_id()->set_value(id);
      *offer.mutable_url() = agentUrl(agent);
      offer.mutable_framework_id()->set_value(frameworkId);
      offer.mutable_agent_id()->set_value(agentId);
      *offer.mutable_unavailability() = *u;
      v1::scheduler::Event& event = events[frameworkId];
      event.set_type(v1::scheduler::Event::INVERSE_OFFERS);
      *event.mutable_inverse_offers()->add_inverse_offers() = offer;
      inverseOffers_.emplace(id, std::move(entry));
      auto& statuses = inverseOfferStatuses_[machine];
      if (!statuses.count(frameworkId)) {
        v1::allocator::InverseOfferStatus& status = statuses[frameworkId];
        status.set_status(v1::allocator::InverseOfferStatus::UNKNOWN);
        status.mutable_framework_id()->set_value(frameworkId);
        *status.mutable_timestamp() = timeNow();
      }
      count("master/inverse_offers");
    }
  }
  for (auto& [frameworkId, event] : events) sendEvent(frameworks_.at(frameworkId), event);
}

void MasterImpl::answerInverseOffers(Framework& framework, const google::protobuf::RepeatedPtrField<v1::OfferID>& ids,
                                     const v1::Filters& filters, bool accept) {
  double refuse = filters.refuse_seconds();
  if (!std::isfinite(refuse) || refuse < 0) refuse = 5.0;
  refuse = std::min(refuse, 31536000.0);
  for (const v1::OfferID& id : ids) {
    auto it = inverseOffers_.find(id.value());
    if (it == inverseOffers_.end() || it->second.frameworkId != framework.id) {
      LOG(WARNING) << "Framework " << framework.id << " answered unknown inverse offer " << id.value() << "; ignored";
      continue;
    }
    auto a = agents_.find(it->second.agentId);
    if (a != agents_.end()) {
      std::string machine = machineKey(a->second);
      if (!machine.empty()) {
        v1::allocator::InverseOfferStatus& status = inverseOfferStatuses_[machine][framework.id];
        status.set_status(accept ? v1::allocator::InverseOfferStatus::ACCEPT
                                 : v1::allocator::InverseOfferStatus::DECLINE);
        status.mutable_framework_id()->set_value(framework.id);
        *status.mutable_timestamp() = timeNow();
      }
    }
    inverseOfferFilters_[{framework.id, it->second.agentId}] = steadyNow() + refuse;
    inverseOffers_.erase(it);
  }
}

void MasterImpl::addInverseOfferStatuses(v1::maintenance::ClusterStatus* status) const {
  for (auto& machine : *status->mutable_draining_machines()) {
    auto it = inverseOfferStatuses_.find(machine.id().SerializeAsString());
    if (it == inverseOfferStatuses_.end()) continue;
    for (const auto& [frameworkId, answer] : it->second) *machine.add_statuses() = answer;
  }
}

}  // namespace mantle::master
