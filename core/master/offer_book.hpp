// The master's outstanding offers (Mesos keeps them in Master::offers): who
// they were made to, on which agent, what they hold; indexed by framework
// and by agent. Removing an offer gives its resources back to the allocator
// (through the AllocatorClient) and, when it is rescinded, tells the
// framework (through `rescinded`). State thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "master/allocator_client.hpp"
#include "master/state_snapshot.hpp"
#include "mesos/v1/mesos.pb.h"
#include "resources/resources.hpp"

namespace mantle::master {

struct OfferEntry {
  std::string frameworkId;
  std::string agentId;
  double createdSteady = 0;
  // The offer and what it holds, as made; snapshots show the same piece.
  OfferPiecePtr piece;

  const mesos::v1::Offer& offer() const { return piece->offer(); }
  const resources::Resources& resources() const { return piece->resources(); }
};

class OfferBook {
 public:
  // `rescinded(frameworkId, offerId)`: tell the framework its offer is gone.
  OfferBook(AllocatorClient& allocator, std::function<void(const std::string&, const std::string&)> rescinded)
      : allocator_(allocator), rescinded_(std::move(rescinded)) {}

  // A fresh offer id: "<prefix>-O<n>".
  void setIdPrefix(std::string prefix) { prefix_ = std::move(prefix); }
  std::string nextId() { return prefix_ + "-O" + std::to_string(nextId_++); }

  // Adds `entry` (its piece's offer has its id set).
  void add(OfferEntry entry);
  const OfferEntry* find(const std::string& offerId) const;
  const std::map<std::string, OfferEntry>& all() const { return offers_; }
  std::size_t size() const { return offers_.size(); }
  // Ids of the offers made to `frameworkId` / on `agentId`.
  std::set<std::string> ofFramework(const std::string& frameworkId) const;
  std::set<std::string> onAgent(const std::string& agentId) const;
  // The pieces of the offers made to `frameworkId`, in id order: the same
  // list until one of them goes or another comes.
  const OfferListPtr& piecesOf(const std::string& frameworkId) const;
  // What the offers made to `frameworkId` / on `agentId` hold.
  resources::Resources offeredTo(const std::string& frameworkId) const;
  resources::Resources offeredOn(const std::string& agentId) const;

  // Removes the offer; its resources go back to the allocator, filtered for
  // `refuseSeconds`. `rescind`: tell the framework.
  void remove(const std::string& offerId, bool rescind, double refuseSeconds = 0);
  // Removes the offer and hands its resources to the caller (an ACCEPT).
  std::optional<OfferEntry> take(const std::string& offerId);
  void rescindOnAgent(const std::string& agentId);
  void rescindOfFramework(const std::string& frameworkId);
  // Ids of the offers outstanding for `timeout` seconds or more at `now`.
  std::vector<std::string> expired(double now, double timeout) const;

 private:
  AllocatorClient& allocator_;
  std::function<void(const std::string&, const std::string&)> rescinded_;
  std::string prefix_;
  std::uint64_t nextId_ = 0;
  std::map<std::string, OfferEntry> offers_;
  std::map<std::string, std::set<std::string>> byFramework_;
  std::map<std::string, std::set<std::string>> byAgent_;
  // piecesOf()'s lists, dropped when they change.
  mutable std::map<std::string, OfferListPtr> pieces_;
};

}  // namespace mantle::master
