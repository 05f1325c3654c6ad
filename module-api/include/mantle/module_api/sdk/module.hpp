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

#include <algorithm>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mantle/module/v1/module.pb.h"
#include "mantle/module_api/abi.h"
#include "mantle/module_api/kinds.h"
#include "mantle/result.hpp"

namespace mantle::sdk {

namespace v1 = ::mantle::module::v1;

// The validated configuration the host hands to `create`. The host has
// checked every value against its declared type and filled in the declared
// defaults, so the declaration in describe<> is the one place a default is
// written: a getter returns the manifest's value, else the declared default,
// else (a parameter without default that the manifest leaves out; see has())
// the type's empty value. Reading a parameter the module does not declare,
// or as another type, is a bug in the module: the getter throws
// std::logic_error, and create (or the call) fails with its text.
class Config {
 public:
  Config(v1::ModuleConfig proto, std::vector<mantle_param_descriptor> declared)
      : proto_(std::move(proto)), declared_(std::move(declared)) {}

  bool has(const std::string& name) const { return proto_.values().count(name) > 0; }
  std::string getString(const std::string& name) const {
    const v1::ConfigValue* v = value(name, MANTLE_PARAM_STRING);
    return v != nullptr && v->has_string_value() ? v->string_value() : std::string();
  }
  std::int64_t getInt(const std::string& name) const {
    const v1::ConfigValue* v = value(name, MANTLE_PARAM_INT);
    return v != nullptr && v->has_int_value() ? v->int_value() : 0;
  }
  double getDouble(const std::string& name) const {
    const v1::ConfigValue* v = value(name, MANTLE_PARAM_DOUBLE);
    return v != nullptr && v->has_double_value() ? v->double_value() : 0;
  }
  bool getBool(const std::string& name) const {
    const v1::ConfigValue* v = value(name, MANTLE_PARAM_BOOL);
    return v != nullptr && v->has_bool_value() && v->bool_value();
  }
  std::vector<std::string> getStringList(const std::string& name) const {
    const v1::ConfigValue* v = value(name, MANTLE_PARAM_STRING_LIST);
    if (v == nullptr || !v->has_string_list_value()) return {};
    const auto& items = v->string_list_value().items();
    return {items.begin(), items.end()};
  }
  const std::string& stateDir() const { return proto_.state_dir(); }
  const v1::ModuleConfig& proto() const { return proto_; }

 private:
  static const char* typeName(mantle_param_type type) {
    static const char* const names[] = {"unknown", "string", "int", "double", "bool", "string list"};
    return type >= MANTLE_PARAM_STRING && type <= MANTLE_PARAM_STRING_LIST ? names[type] : names[0];
  }

  // The value of declared parameter `name` of `type`; nullptr when absent.
  const v1::ConfigValue* value(const std::string& name, mantle_param_type type) const {
    const mantle_param_descriptor* declaration = nullptr;
    for (const mantle_param_descriptor& p : declared_) {
      if (p.name != nullptr && name == p.name) declaration = &p;
    }
    if (declaration == nullptr) throw std::logic_error("reads parameter '" + name + "', which it does not declare");
    if (declaration->type != type) {
      throw std::logic_error("reads parameter '" + name + "' as " + typeName(type) + ", but declares it as " +
                             typeName(declaration->type));
    }
    auto it = proto_.values().find(name);
    return it != proto_.values().end() ? &it->second : nullptr;
  }

  v1::ModuleConfig proto_;
  std::vector<mantle_param_descriptor> declared_;
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

  // The bytes of `secret` (an inline value, or a reference resolved by the
  // agent's --secret_resolver). Errors name the reference; kUnavailable where
  // the host offers no resolution (a module run out of process).
  Result<std::string> resolveSecret(const v1::Secret& secret) const {
    if (api_ == nullptr || api_->size < offsetof(mantle_host_api, resolve_secret) + sizeof(api_->resolve_secret) ||
        api_->resolve_secret == nullptr) {
      return Error(StatusCode::kUnavailable,
                   "this host resolves no secrets (secrets reach isolators that run in the agent's process)");
    }
    struct Answer {
      std::string data;
      std::string error;
    } answer;
    mantle_output out{&answer,
                      [](void* ctx, const std::uint8_t* data, std::size_t size) {
                        static_cast<Answer*>(ctx)->data.assign(reinterpret_cast<const char*>(data), size);
                      },
                      [](void* ctx, const char* message, std::size_t size) {
                        static_cast<Answer*>(ctx)->error.assign(message, size);
                      }};
    std::string bytes = secret.SerializeAsString();
    mantle_status status = api_->resolve_secret(api_->host_context, reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                                bytes.size(), &out);
    if (status != MANTLE_OK) return Error(static_cast<StatusCode>(status), std::move(answer.error));
    return std::move(answer.data);
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
mantle_status trampoline(void* instance, const std::uint8_t* request, std::size_t size,
                         const mantle_output* out) noexcept {
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

// Whether the module class overrides a method of its kind's base class: the
// member pointer &Impl::method names the class that declares the method it
// finds, which is the base class unless Impl (or a class between them)
// overrides it.
template <class Base, class MemberPointer>
struct Overrides;
template <class Base, class Class, class Response, class Request>
struct Overrides<Base, Response (Class::*)(Request)> {
  static constexpr bool value = !std::is_same_v<Class, Base>;
};

// The parameters describe<Impl> declared (the host reads the descriptor,
// and so runs describe<Impl>, before it creates an instance).
template <class Impl>
struct DeclaredParams {
  static std::vector<mantle_param_descriptor>& get() {
    static std::vector<mantle_param_descriptor> params;
    return params;
  }
};

template <class Impl>
mantle_status create(const mantle_create_args* args, void** instanceOut, const mantle_output* error) noexcept {
  try {
    v1::ModuleConfig config;
    if (args == nullptr || !config.ParseFromArray(args->config_borrowed, static_cast<int>(args->config_size))) {
      return fail(error, invalidArgument("cannot decode ModuleConfig"));
    }
    Context context{args->instance_name_borrowed != nullptr ? args->instance_name_borrowed : "",
                    Config(std::move(config), DeclaredParams<Impl>::get()), Host(args->host)};
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

// Derives a kind base class's pieces from the kind's method list in kinds.h;
// used inside the class as MANTLE_SDK_KIND(Isolator, mantle_isolator_table,
// ISOLATOR):
// - kKind and the API version the SDK knows (kApiMajor, kApiMinor);
// - defaultTable(): the C function table, one trampoline per method (a kind
//   whose class defines makeTable() starts from it and replaces entries);
// - minorNeededBy<Impl>(): the kind API minor a module class needs: the
//   highest since-minor among the methods it overrides. Each method must
//   have one declaration per class (no overloads) for &Impl::method to name it.
#define MANTLE_SDK_TRAMPOLINE(field, method, Request, Response, since) \
  &::mantle::sdk::detail::trampoline<KindBase, v1::Request, v1::Response, &KindBase::method>,
#define MANTLE_SDK_MINOR_IF_OVERRIDDEN(field, method, Request, Response, since) \
  (::mantle::sdk::detail::Overrides<KindBase, decltype(&Impl::method)>::value ? (since) : 0),
#define MANTLE_SDK_KIND(Class, Table, KIND)                                                                   \
  using KindBase = Class;                                                                                     \
  using FunctionTable = Table;                                                                                \
  static constexpr const char* kKind = MANTLE_KIND_##KIND;                                                    \
  static constexpr std::uint16_t kApiMajor = MANTLE_##KIND##_API_MAJOR;                                       \
  static constexpr std::uint16_t kApiMinor = MANTLE_##KIND##_API_MINOR;                                       \
  static Table defaultTable() {                                                                               \
    return Table{sizeof(Table), MANTLE_##KIND##_METHODS(MANTLE_SDK_TRAMPOLINE)};                              \
  }                                                                                                           \
  template <class Impl>                                                                                       \
  static constexpr std::uint16_t minorNeededBy() {                                                            \
    return static_cast<std::uint16_t>(std::max({MANTLE_##KIND##_METHODS(MANTLE_SDK_MINOR_IF_OVERRIDDEN) 0})); \
  }

namespace detail {

// The kind's function table, built once.
template <class Base>
const void* functionTable() {
  static const typename Base::FunctionTable table = [] {
    if constexpr (requires { Base::makeTable(); }) {
      return Base::makeTable();
    } else {
      return Base::defaultTable();
    }
  }();
  return &table;
}

}  // namespace detail

// The descriptor of module `name`, implemented by Impl (one Impl per module).
template <class Impl>
const mantle_module_descriptor* describe(const char* name, const char* description,
                                         std::initializer_list<mantle_param_descriptor> params = {}) {
  using Base = typename Impl::KindBase;
  static const std::vector<mantle_param_descriptor>& storedParams = detail::DeclaredParams<Impl>::get() = params;
  static const mantle_module_descriptor descriptor = {
      sizeof(mantle_module_descriptor),
      Base::kKind,
      name,
      Base::kApiMajor,
      Base::template minorNeededBy<Impl>(),
      description,
      storedParams.data(),
      storedParams.size(),
      &detail::create<Impl>,
      &detail::destroy<Base>,
      detail::functionTable<Base>(),
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
