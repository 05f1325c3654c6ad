// The allocator module as the master calls it: one method per allocator
// call, the only place in the master that makes them (through the typed
// modules::AllocatorClient). Resources a framework gives back
// are queued and go to the allocator in one batch before its next call.
// State thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/arena.h>

#include "mantle/module/v1/allocator.pb.h"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/registry.hpp"
#include "mantle/result.hpp"
#include "resources/resources.hpp"

namespace mantle::master {

class AllocatorClient {
 public:
  // `now`: the master's steady clock in seconds; `failed`: called with the
  // allocator's error for every call that failed (the master counts them).
  AllocatorClient(std::function<double()> now, std::function<void(const Error&)> failed);

  void attach(std::shared_ptr<modules::Instance> allocator) { allocator_ = std::move(allocator); }

  // Calls that change what the allocator knows. False when it failed
  // (logged and counted; the master's own state stays authoritative).
  bool addFramework(const module::v1::AllocatorAddFramework& request);
  bool updateFramework(const module::v1::AllocatorUpdateFramework& request);
  bool setFrameworkActive(const std::string& frameworkId, bool active);
  bool removeFramework(const std::string& frameworkId);
  bool suppress(const module::v1::AllocatorRoles& request);
  bool revive(const module::v1::AllocatorRoles& request);
  bool addAgent(const module::v1::AllocatorAddAgent& request);
  bool updateAgent(const module::v1::AllocatorUpdateAgent& request);
  bool removeAgent(const std::string& agentId);
  bool updateWeights(const module::v1::AllocatorUpdateWeights& request);
  bool updateQuota(const module::v1::AllocatorUpdateQuota& request);

  // Queues `resources` of `frameworkId` on `agentId` to go back to the
  // allocator, not offered to that framework again for `refuseSeconds`.
  void recoverResources(const std::string& frameworkId, const std::string& agentId,
                        const resources::Resources& resources, double refuseSeconds);
  // Sends the queued recoveries (one batch; one call each for an allocator
  // without recover_resources_batch).
  void flushRecoveries();

  Result<module::v1::AllocateResponse> allocate();
  Result<module::v1::ExplainResponse> explain(const module::v1::ExplainRequest& request);

 private:
  template <typename Response, typename Request>
  using Method = Result<Response> (modules::AllocatorClient::*)(const Request&) const;
  template <typename Response, typename Request>
  Result<Response> call(Method<Response, Request> method, const Request& request);
  template <typename Request>
  bool update(Method<module::v1::Empty, Request> method, const Request& request);

  std::function<double()> now_;
  std::function<void(const Error&)> failed_;
  std::shared_ptr<modules::Instance> allocator_;
  // The queued recoveries: one batch on an arena, emptied by each flush (an
  // offer cycle declines thousands of offers; their items cost no
  // allocation each, and dropping them all no walk).
  google::protobuf::Arena pendingArena_;
  module::v1::AllocatorRecoverResourcesBatch* pending_ = nullptr;
};

}  // namespace mantle::master
