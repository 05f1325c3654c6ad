// SDK base class of the allocator kind (API 1.0). Every method must be
// implemented: an allocator that ignores cluster changes would offer what it
// does not have. Calls to one instance never overlap.
#pragma once

#include <google/protobuf/arena.h>

#include <string>
#include <vector>

#include "mantle/module/v1/allocator.pb.h"
#include "mantle/module_api/sdk/module.hpp"

namespace mantle::sdk {

namespace detail {

// For the allocator's bulk calls that the module may decode itself
// (`recover_resources_batch`): the request's bytes go to the method as they
// are, and what it writes to `response` (an encoded message) is the response.
template <class Base, Status (Base::*Method)(const std::uint8_t*, std::size_t, std::string*)>
mantle_status bytesMethod(void* instance, const std::uint8_t* request, std::size_t size,
                          const mantle_output* out) noexcept {
  try {
    thread_local std::string bytes;
    bytes.clear();
    Status result = (static_cast<Base*>(instance)->*Method)(request, size, &bytes);
    if (!result.ok()) return fail(out, result.error());
    if (out != nullptr && out->set_response != nullptr) {
      out->set_response(out->host_context, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    return MANTLE_OK;
  } catch (const std::exception& e) {
    return fail(out, internalError(std::string("uncaught exception: ") + e.what()));
  } catch (...) {
    return fail(out, internalError("uncaught exception of unknown type"));
  }
}

// For `allocate`: the response is encoded by the module itself
// (Allocator::allocateEncoded) into a buffer kept between calls, so a steady
// cycle neither builds a message per offer nor reallocates its output.
template <class Base, class Request, Status (Base::*Method)(const Request&, std::string*)>
mantle_status encodedMethod(void* instance, const std::uint8_t* request, std::size_t size,
                            const mantle_output* out) noexcept {
  try {
    Request decoded;
    if (!decoded.ParseFromArray(request, static_cast<int>(size))) {
      return fail(out, invalidArgument("cannot decode request " + decoded.GetTypeName()));
    }
    thread_local std::string bytes;
    bytes.clear();
    Status result = (static_cast<Base*>(instance)->*Method)(decoded, &bytes);
    if (!result.ok()) return fail(out, result.error());
    if (out != nullptr && out->set_response != nullptr) {
      out->set_response(out->host_context, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    return MANTLE_OK;
  } catch (const std::exception& e) {
    return fail(out, internalError(std::string("uncaught exception: ") + e.what()));
  } catch (...) {
    return fail(out, internalError("uncaught exception of unknown type"));
  }
}

// Runs `body` (Status(google::protobuf::Arena&)) on an arena whose first
// block is `firstBlock`, a thread_local of the caller's. The block is kept
// between calls and grows to the largest call seen, so a steady stream of
// calls neither maps nor faults in fresh memory.
template <class Body>
Status onArena(std::vector<char>& firstBlock, Body&& body) {
  std::size_t used = 0;
  Status status;
  {
    google::protobuf::ArenaOptions options;
    options.start_block_size = 64 * 1024;
    options.max_block_size = 8 * 1024 * 1024;
    options.initial_block = firstBlock.empty() ? nullptr : firstBlock.data();
    options.initial_block_size = firstBlock.size();
    google::protobuf::Arena arena(options);
    status = body(arena);
    used = static_cast<std::size_t>(arena.SpaceAllocated());
  }
  // The arena is gone: the block may be replaced.
  if (used > firstBlock.size()) firstBlock.assign(used + used / 4, 0);
  return status;
}

}  // namespace detail

class Allocator {
 public:
  MANTLE_SDK_KIND(Allocator, mantle_allocator_table, ALLOCATOR)

  virtual ~Allocator() = default;

  virtual Result<v1::Empty> addFramework(const v1::AllocatorAddFramework&) = 0;
  virtual Result<v1::Empty> updateFramework(const v1::AllocatorUpdateFramework&) = 0;
  virtual Result<v1::Empty> removeFramework(const v1::AllocatorFrameworkRef&) = 0;
  virtual Result<v1::Empty> setFrameworkActive(const v1::AllocatorSetFrameworkActive&) = 0;
  virtual Result<v1::Empty> addAgent(const v1::AllocatorAddAgent&) = 0;
  virtual Result<v1::Empty> updateAgent(const v1::AllocatorUpdateAgent&) = 0;
  virtual Result<v1::Empty> removeAgent(const v1::AllocatorAgentRef&) = 0;
  virtual Result<v1::Empty> recoverResources(const v1::AllocatorRecoverResources&) = 0;
  virtual Result<v1::Empty> suppress(const v1::AllocatorRoles&) = 0;
  virtual Result<v1::Empty> revive(const v1::AllocatorRoles&) = 0;
  virtual Result<v1::Empty> updateWeights(const v1::AllocatorUpdateWeights&) = 0;
  virtual Result<v1::Empty> updateQuota(const v1::AllocatorUpdateQuota&) = 0;
  virtual Result<v1::AllocateResponse> allocate(const v1::AllocateRequest&) = 0;
  virtual Result<v1::ExplainResponse> explain(const v1::ExplainRequest&) { return v1::ExplainResponse(); }
  // Applies each item in order; stops at the first error (the items before it
  // stay applied). Override when a batch can be cheaper than its items.
  virtual Result<v1::Empty> recoverResourcesBatch(const v1::AllocatorRecoverResourcesBatch& batch) {
    for (const v1::AllocatorRecoverResources& item : batch.items()) {
      Result<v1::Empty> done = recoverResources(item);
      if (!done.ok()) return done.error();
    }
    return v1::Empty();
  }

  // What the table calls for `allocate` and `recover_resources_batch`:
  // `response` may live on an arena. The defaults forward to allocate() and
  // recoverResourcesBatch(); override to build the response in place.
  virtual Status allocateInto(const v1::AllocateRequest& request, v1::AllocateResponse* response) {
    Result<v1::AllocateResponse> result = allocate(request);
    if (!result.ok()) return result.error();
    *response = std::move(*result);
    return {};
  }
  virtual Status recoverBatchInto(const v1::AllocatorRecoverResourcesBatch& batch, v1::Empty*) {
    Result<v1::Empty> result = recoverResourcesBatch(batch);
    if (!result.ok()) return result.error();
    return {};
  }

  // What the table calls for `allocate`: appends the encoded
  // AllocateResponse to `out` (empty on entry). The default builds the
  // message with allocateInto() on an arena and serializes it; override to
  // encode the offers directly.
  virtual Status allocateEncoded(const v1::AllocateRequest& request, std::string* out) {
    thread_local std::vector<char> firstBlock;
    return detail::onArena(firstBlock, [&](google::protobuf::Arena& arena) -> Status {
      auto* response = google::protobuf::Arena::CreateMessage<v1::AllocateResponse>(&arena);
      Status status = allocateInto(request, response);
      if (status.ok()) response->AppendToString(out);
      return status;
    });
  }

  // What the table calls for `recover_resources_batch`: the encoded
  // AllocatorRecoverResourcesBatch. Appends the encoded response (an Empty)
  // to `response`. The default decodes the request onto an arena and calls
  // recoverBatchInto(); override to read the items straight from the bytes.
  virtual Status recoverBatchEncoded(const std::uint8_t* request, std::size_t size, std::string* response) {
    thread_local std::vector<char> firstBlock;
    return detail::onArena(firstBlock, [&](google::protobuf::Arena& arena) -> Status {
      auto* decoded = google::protobuf::Arena::CreateMessage<v1::AllocatorRecoverResourcesBatch>(&arena);
      if (!decoded->ParseFromArray(request, static_cast<int>(size))) {
        return invalidArgument("cannot decode request " + decoded->GetTypeName());
      }
      auto* empty = google::protobuf::Arena::CreateMessage<v1::Empty>(&arena);
      Status status = recoverBatchInto(*decoded, empty);
      if (status.ok()) empty->AppendToString(response);
      return status;
    });
  }

  // The table from the method list, with the two bulk entries reading and
  // writing encoded messages themselves.
  static FunctionTable makeTable() {
    FunctionTable table = defaultTable();
    table.allocate = &detail::encodedMethod<Allocator, v1::AllocateRequest, &Allocator::allocateEncoded>;
    table.recover_resources_batch = &detail::bytesMethod<Allocator, &Allocator::recoverBatchEncoded>;
    return table;
  }
};

}  // namespace mantle::sdk
