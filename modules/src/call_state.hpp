// One call into a module's C entry points: where its result lands, and the
// guard that turns an exception escaping the module into the call's failure.
// Shared by the in-process registry and mantle-module-host, so both report a
// module's failures in the same words.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include "mantle/module_api/abi.h"

namespace mantle::modules::detail {

struct CallState {
  std::string request;
  std::string response;
  std::string error;
  mantle_status status = MANTLE_OK;
  bool threw = false;

  static void setResponse(void* ctx, const std::uint8_t* data, std::size_t size) {
    static_cast<CallState*>(ctx)->response.assign(reinterpret_cast<const char*>(data), size);
  }
  static void setError(void* ctx, const char* message, std::size_t size) {
    static_cast<CallState*>(ctx)->error.assign(message, size);
  }
  mantle_output output() { return mantle_output{this, &CallState::setResponse, &CallState::setError}; }
};

// Runs `fn` on `state`, turning an exception into the call's failure.
template <class Fn>
void guarded(CallState& state, const Fn& fn) {
  try {
    fn(state);
  } catch (const std::exception& e) {
    state.threw = true;
    state.status = MANTLE_INTERNAL;
    state.error = std::string("threw an exception across the module boundary: ") + e.what();
  } catch (...) {
    state.threw = true;
    state.status = MANTLE_INTERNAL;
    state.error = "threw an exception across the module boundary";
  }
}

}  // namespace mantle::modules::detail
