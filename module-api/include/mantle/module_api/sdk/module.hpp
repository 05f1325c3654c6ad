// The C++ SDK's core: what every kind shares. A module author includes the
// header of the kind they implement (isolator.hpp, allocator.hpp, ...), derives
// from its base class, and exports the library with MANTLE_MODULE_LIBRARY:
//
//   class MyIsolator : public mantle::sdk::Isolator {
//    public:
//     static mantle::Result<std::unique_ptr<MyIsolator>> create(const mantle::sdk::Context& ctx);
//     mantle::Result<v1::Empty> isolate(const v1::IsolatorIsolateRequest& request) override;
//   };
//   MANTLE_MODULE_LIBRARY("acme", "1.2.0",
//       mantle::sdk::describe<MyIsolator>("acme/iso", "What it does",
//           {mantle::sdk::Param::string("mode", "strict or lax", "strict")}));
//
// Nothing here throws across the boundary: the trampolines catch everything and
// return a status with the text.
#pragma once

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mantle/module/v1/module.pb.h"
#include "mantle/module_api/abi.h"
#include "mantle/module_api/kinds.h"
#include "mantle/result.hpp"

namespace mantle::sdk {

namespace v1 = ::mantle::module::v1;

// The validated configuration the host hands to `create`.
class Config {
 public:
  explicit Config(v1::ModuleConfig proto) : proto_(std::move(proto)) {}

  bool has(const std::string& name) const { return proto_.values().count(name) > 0; }
  // The host has checked every value against its declared type and filled in
  // defaults, so for a declared parameter with a default these never miss.
  std::string getString(const std::string& name, const std::string& fallback = "") const {
    auto it = proto_.values().find(name);
    return it != proto_.values().end() && it->second.has_string_value() ? it->second.string_value() : fallback;
  }
  std::int64_t getInt(const std::string& name, std::int64_t fallback = 0) const {
    auto it = proto_.values().find(name);
    return it != proto_.values().end() && it->second.has_int_value() ? it->second.int_value() : fallback;
  }
  double getDouble(const std::string& name, double fallback = 0) const {
    auto it = proto_.values().find(name);
    return it != proto_.values().end() && it->second.has_double_value() ? it->second.double_value() : fallback;
  }
  bool getBool(const std::string& name, bool fallback = false) const {
    auto it = proto_.values().find(name);
    return it != proto_.values().end() && it->second.has_bool_value() ? it->second.bool_value() : fallback;
  }
  std::vector<std::string> getStringList(const std::string& name) const {
    auto it = proto_.values().find(name);
    if (it == proto_.values().end() || !it->second.has_string_list_value()) return {};
    const auto& items = it->second.string_list_value().items();
    return {items.begin(), items.end()};
  }
  const std::string& stateDir() const { return proto_.state_dir(); }
  const v1::ModuleConfig& proto() const { return proto_; }

 private:
  v1::ModuleConfig proto_;
};

// Services of the host. Copyable; valid until the instance is destroyed.
class Host {
 public:
  explicit Host(const mantle_host_api* api) : api_(api) {}

  void info(std::string_view message) const { log(MANTLE_LOG_INFO, message); }
  void warning(std::string_view message) const { log(MANTLE_LOG_WARNING, message); }
  void error(std::string_view message) const { log(MANTLE_LOG_ERROR, message); }

  // Reports an asynchronous event (an isolator's limitation). Any thread.
  void notify(const v1::ModuleEvent& event) const {
    if (api_ == nullptr || api_->size < offsetof(mantle_host_api, notify) + sizeof(api_->notify) ||
        api_->notify == nullptr) {
      return;
    }
    std::string bytes = event.SerializeAsString();
    api_->notify(api_->host_context, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }

 private:
  void log(std::int32_t level, std::string_view message) const {
    if (api_ != nullptr && api_->log != nullptr) api_->log(api_->host_context, level, message.data(), message.size());
  }
  const mantle_host_api* api_;
};

// Everything `create` gets.
struct Context {
  std::string instanceName;
  Config config;
  Host host;
};

// A declared configuration parameter. Defaults are written as manifest text.
struct Param {
  static mantle_param_descriptor string(const char* name, const char* help, const char* defaultValue = nullptr) {
    return {name, MANTLE_PARAM_STRING, 0, defaultValue, help};
  }
  static mantle_param_descriptor integer(const char* name, const char* help, const char* defaultValue = nullptr) {
    return {name, MANTLE_PARAM_INT, 0, defaultValue, help};
  }
  static mantle_param_descriptor number(const char* name, const char* help, const char* defaultValue = nullptr) {
    return {name, MANTLE_PARAM_DOUBLE, 0, defaultValue, help};
  }
  static mantle_param_descriptor boolean(const char* name, const char* help, const char* defaultValue = nullptr) {
    return {name, MANTLE_PARAM_BOOL, 0, defaultValue, help};
  }
  static mantle_param_descriptor stringList(const char* name, const char* help, const char* defaultValue = nullptr) {
    return {name, MANTLE_PARAM_STRING_LIST, 0, defaultValue, help};
  }
  // The same parameter, but the manifest must give it.
  static mantle_param_descriptor required(mantle_param_descriptor p) {
    p.required = 1;
    p.default_value = nullptr;
    return p;
  }
};

namespace detail {

inline void setError(const mantle_output* out, std::string_view message) {
  if (out != nullptr && out->set_error != nullptr) out->set_error(out->host_context, message.data(), message.size());
}

inline mantle_status fail(const mantle_output* out, const Error& error) {
  setError(out, error.message);
  return error.code == StatusCode::kOk ? MANTLE_UNKNOWN : static_cast<mantle_status>(error.code);
}

// Decodes the request, calls the virtual method, encodes the response, and
// turns every error and exception into a status plus text.
template <class Base, class Request, class Response, Result<Response> (Base::*Method)(const Request&)>
mantle_status method(void* instance, const std::uint8_t* request, std::size_t size, const mantle_output* out) noexcept {
  try {
    Request decoded;
    if (!decoded.ParseFromArray(request, static_cast<int>(size))) {
      return fail(out, invalidArgument("cannot decode request " + decoded.GetTypeName()));
    }
    Result<Response> result = (static_cast<Base*>(instance)->*Method)(decoded);
    if (!result.ok()) return fail(out, result.error());
    std::string bytes = result->SerializeAsString();
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

template <class Impl>
mantle_status create(const mantle_create_args* args, void** instanceOut, const mantle_output* error) noexcept {
  try {
    v1::ModuleConfig config;
    if (args == nullptr || !config.ParseFromArray(args->config_borrowed, static_cast<int>(args->config_size))) {
      return fail(error, invalidArgument("cannot decode ModuleConfig"));
    }
    Context context{args->instance_name_borrowed != nullptr ? args->instance_name_borrowed : "",
                    Config(std::move(config)), Host(args->host)};
    Result<std::unique_ptr<Impl>> made = Impl::create(context);
    if (!made.ok()) return fail(error, made.error());
    if (*made == nullptr) return fail(error, internalError("create returned no instance"));
    using Base = typename Impl::KindBase;
    *instanceOut = static_cast<Base*>(made->release());
    return MANTLE_OK;
  } catch (const std::exception& e) {
    return fail(error, internalError(std::string("create threw: ") + e.what()));
  } catch (...) {
    return fail(error, internalError("create threw an exception of unknown type"));
  }
}

template <class Base>
void destroy(void* instance) noexcept {
  try {
    delete static_cast<Base*>(instance);
  } catch (...) {
    // A destructor that throws: nothing may cross the boundary.
  }
}

}  // namespace detail

// The descriptor of module `name`, implemented by Impl (one Impl per module).
template <class Impl>
const mantle_module_descriptor* describe(const char* name, const char* description,
                                         std::initializer_list<mantle_param_descriptor> params = {}) {
  using Base = typename Impl::KindBase;
  static const std::vector<mantle_param_descriptor> storedParams(params);
  static const mantle_module_descriptor descriptor = {
      sizeof(mantle_module_descriptor),
      Base::kKind,
      name,
      Base::kApiMajor,
      Base::kApiMinor,
      description,
      storedParams.data(),
      storedParams.size(),
      &detail::create<Impl>,
      &detail::destroy<Base>,
      Base::table(),
  };
  return &descriptor;
}

}  // namespace mantle::sdk

// Exports the library's one entry symbol. Arguments after the version are the
// module descriptors (mantle::sdk::describe<...>(...)).
#define MANTLE_MODULE_LIBRARY(library_name, library_version, ...)                                \
  extern "C" MANTLE_MODULE_EXPORT const mantle_library_descriptor* mantle_module_library(void) { \
    static const mantle_module_descriptor* const modules[] = {__VA_ARGS__};                      \
    static const mantle_library_descriptor library = {MANTLE_MODULE_MAGIC,                       \
                                                      MANTLE_MODULE_ABI_VERSION,                 \
                                                      library_name,                              \
                                                      library_version,                           \
                                                      modules,                                   \
                                                      sizeof(modules) / sizeof(modules[0])};     \
    return &library;                                                                             \
  }
