#include "master/offer_book.hpp"

namespace mantle::master {

namespace {

std::set<std::string> idsOf(const std::map<std::string, std::set<std::string>>& index, const std::string& key) {
  auto it = index.find(key);
  return it == index.end() ? std::set<std::string>{} : it->second;
}

void unindex(std::map<std::string, std::set<std::string>>& index, const std::string& key, const std::string& id) {
  auto it = index.find(key);
  if (it == index.end()) return;
  it->second.erase(id);
  if (it->second.empty()) index.erase(it);
}

}  // namespace

void OfferBook::add(OfferEntry entry) {
  const std::string& id = entry.offer().id().value();
  byFramework_[entry.frameworkId].insert(id);
  byAgent_[entry.agentId].insert(id);
  pieces_.erase(entry.frameworkId);
  offers_.emplace(id, std::move(entry));
}

const OfferEntry* OfferBook::find(const std::string& offerId) const {
  auto it = offers_.find(offerId);
  return it == offers_.end() ? nullptr : &it->second;
}

std::set<std::string> OfferBook::ofFramework(const std::string& frameworkId) const {
  return idsOf(byFramework_, frameworkId);
}

const OfferListPtr& OfferBook::piecesOf(const std::string& frameworkId) const {
  static const OfferListPtr kNone = std::make_shared<const std::vector<OfferPiecePtr>>();
  auto ids = byFramework_.find(frameworkId);
  if (ids == byFramework_.end()) return kNone;
  OfferListPtr& list = pieces_[frameworkId];
  if (!list) {
    auto pieces = std::make_shared<std::vector<OfferPiecePtr>>();
    pieces->reserve(ids->second.size());
    for (const std::string& id : ids->second) pieces->push_back(offers_.at(id).piece);
    list = std::move(pieces);
  }
  return list;
}

std::set<std::string> OfferBook::onAgent(const std::string& agentId) const {
  return idsOf(byAgent_, agentId);
}

resources::Resources OfferBook::offeredTo(const std::string& frameworkId) const {
  resources::Resources out;
  for (const std::string& id : ofFramework(frameworkId)) out += offers_.at(id).resources();
  return out;
}

resources::Resources OfferBook::offeredOn(const std::string& agentId) const {
  resources::Resources out;
  for (const std::string& id : onAgent(agentId)) out += offers_.at(id).resources();
  return out;
}

std::optional<OfferEntry> OfferBook::take(const std::string& offerId) {
  auto it = offers_.find(offerId);
  if (it == offers_.end()) return std::nullopt;
  OfferEntry entry = std::move(it->second);
  offers_.erase(it);
  pieces_.erase(entry.frameworkId);
  unindex(byFramework_, entry.frameworkId, offerId);
  unindex(byAgent_, entry.agentId, offerId);
  return entry;
}

void OfferBook::remove(const std::string& offerId, bool rescind, double refuseSeconds) {
  std::optional<OfferEntry> entry = take(offerId);
  if (!entry) return;
  if (rescind) rescinded_(entry->frameworkId, offerId);
  allocator_.recoverResources(entry->frameworkId, entry->agentId, entry->resources(), refuseSeconds);
}

void OfferBook::rescindOnAgent(const std::string& agentId) {
  for (const std::string& id : onAgent(agentId)) remove(id, /*rescind=*/true);
}

void OfferBook::rescindOfFramework(const std::string& frameworkId) {
  for (const std::string& id : ofFramework(frameworkId)) remove(id, /*rescind=*/true);
}

std::vector<std::string> OfferBook::expired(double now, double timeout) const {
  std::vector<std::string> out;
  for (const auto& [id, offer] : offers_) {
    if (now - offer.createdSteady >= timeout) out.push_back(id);
  }
  return out;
}

}  // namespace mantle::master
