#include "master/v0_authenticator.hpp"

#include <cstring>

#include <glog/logging.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

namespace mantle::master {

namespace {

constexpr const char* kService = "mesos";  // as a Mesos master names it
constexpr const char* kPlugin = "mantle-credentials";
constexpr const char* kMechanism = "CRAM-MD5";

// The secrets the auxiliary property plugin hands out (process-wide: SASL's
// plugins are).
std::mutex secretsMutex;
Credentials secrets;

// Fills `userPassword` for `user` from `secrets`. SASL asks for the
// authentication id's properties with their names prefixed '*' (and
// SASL_AUXPROP_AUTHZID clear), for the authorization id's without.
int lookup(void*, sasl_server_params_t* params, unsigned flags, const char* user, unsigned length) {
  const sasl_utils_t* utils = params->utils;
  const propval* properties = utils->prop_get(params->propctx);
  if (properties == nullptr) return SASL_OK;
  std::string secret;
  {
    std::lock_guard lock(secretsMutex);
    auto it = secrets.find(std::string(user, length));
    if (it == secrets.end()) return SASL_OK;  // unknown: nothing to add
    secret = it->second;
  }
  for (const propval* p = properties; p->name != nullptr; ++p) {
    bool authnProperty = p->name[0] == '*';
    if (authnProperty == ((flags & SASL_AUXPROP_AUTHZID) != 0)) continue;
    const char* name = authnProperty ? p->name + 1 : p->name;
    if (std::strcmp(name, SASL_AUX_PASSWORD_PROP) != 0) continue;
    if (p->values != nullptr) {
      if ((flags & SASL_AUXPROP_OVERRIDE) == 0) continue;
      utils->prop_erase(params->propctx, p->name);
    }
    utils->prop_set(params->propctx, p->name, secret.c_str(), static_cast<int>(secret.size()));
  }
  return SASL_OK;
}

sasl_auxprop_plug_t plugin = {0, 0, nullptr, nullptr, &lookup, const_cast<char*>(kPlugin), nullptr};

int initPlugin(const sasl_utils_t*, int maxVersion, int* outVersion, sasl_auxprop_plug_t** plug, const char*) {
  if (maxVersion < SASL_AUXPROP_PLUG_VERSION) return SASL_BADVERS;
  *outVersion = SASL_AUXPROP_PLUG_VERSION;
  *plug = &plugin;
  return SASL_OK;
}

// Only our plugin for secrets, only CRAM-MD5.
int getopt(void*, const char*, const char* option, const char** result, unsigned* length) {
  if (std::strcmp(option, "auxprop_plugin") == 0) {
    *result = kPlugin;
  } else if (std::strcmp(option, "mech_list") == 0) {
    *result = kMechanism;
  } else {
    return SASL_FAIL;
  }
  if (length != nullptr) *length = static_cast<unsigned>(std::strlen(*result));
  return SASL_OK;
}

// The user name as sent: no realm appended.
int canonicalize(sasl_conn_t*, void*, const char* in, unsigned length, unsigned, const char*, char* out, unsigned max,
                 unsigned* outLength) {
  if (length >= max) return SASL_BUFOVER;
  std::memcpy(out, in, length);
  out[length] = '\0';
  *outLength = length;
  return SASL_OK;
}

// SASL's callback table holds every callback as int (*)() (cast through
// void (*)(), which GCC takes as intended).
template <typename F>
int (*callback(F* f))() {
  return reinterpret_cast<int (*)()>(reinterpret_cast<void (*)()>(f));
}

sasl_callback_t callbacks[] = {{SASL_CB_GETOPT, callback(&getopt), nullptr},
                               {SASL_CB_CANON_USER, callback(&canonicalize), nullptr},
                               {SASL_CB_LIST_END, nullptr, nullptr}};

// sasl_server_init's result, once per process.
int initialized() {
  static const int result = [] {
    int r = sasl_server_init(callbacks, kService);
    if (r == SASL_OK) r = sasl_auxprop_add_plugin(kPlugin, &initPlugin);
    return r;
  }();
  return result;
}

}  // namespace

Result<std::unique_ptr<V0Authenticator>> V0Authenticator::create(const Credentials& credentials) {
  if (int r = initialized(); r != SASL_OK) {
    return Error(StatusCode::kInternal,
                 std::string("Failed to start Cyrus SASL for CRAM-MD5: ") + sasl_errstring(r, nullptr, nullptr));
  }
  {
    std::lock_guard lock(secretsMutex);
    secrets = credentials;
  }
  return std::unique_ptr<V0Authenticator>(new V0Authenticator());
}

V0Authenticator::~V0Authenticator() {
  for (auto& [id, session] : sessions_) dispose(session);
}

void V0Authenticator::dispose(Session& session) {
  if (session.connection != nullptr) sasl_dispose(&session.connection);
  session.connection = nullptr;
}

void V0Authenticator::begin(const std::string& session, const std::string& driver) {
  std::lock_guard lock(mutex_);
  Session& s = sessions_[session];
  dispose(s);
  s.driver = driver;
}

V0Authenticator::Step V0Authenticator::start(const std::string& session, const std::string& mechanism,
                                             const std::string& data) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return Step{Step::State::kError, "", "no AuthenticateMessage came first"};
  Session& s = it->second;
  dispose(s);
  if (mechanism != kMechanism) {
    sessions_.erase(it);
    return Step{Step::State::kError, "", "unsupported mechanism '" + mechanism + "' (only CRAM-MD5)"};
  }
  int r = sasl_server_new(kService, nullptr, nullptr, nullptr, nullptr, callbacks, 0, &s.connection);
  if (r != SASL_OK) {
    sessions_.erase(it);
    return Step{Step::State::kError, "", std::string("sasl_server_new: ") + sasl_errstring(r, nullptr, nullptr)};
  }
  const char* out = nullptr;
  unsigned length = 0;
  r = sasl_server_start(s.connection, kMechanism, data.empty() ? nullptr : data.data(),
                        static_cast<unsigned>(data.size()), &out, &length);
  return answer(s, r, out, length);
}

V0Authenticator::Step V0Authenticator::step(const std::string& session, const std::string& data) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(session);
  if (it == sessions_.end() || it->second.connection == nullptr) {
    return Step{Step::State::kError, "", "no authentication in progress"};
  }
  const char* out = nullptr;
  unsigned length = 0;
  int r = sasl_server_step(it->second.connection, data.data(), static_cast<unsigned>(data.size()), &out, &length);
  return answer(it->second, r, out, length);
}

V0Authenticator::Step V0Authenticator::answer(Session& session, int result, const char* out, unsigned length) {
  if (result == SASL_CONTINUE) return Step{Step::State::kContinue, std::string(out, length), ""};
  Step step;
  if (result == SASL_OK) {
    const void* user = nullptr;
    if (sasl_getprop(session.connection, SASL_USERNAME, &user) == SASL_OK && user != nullptr) {
      principals_[session.driver] = static_cast<const char*>(user);
      step.state = Step::State::kCompleted;
    } else {
      step = Step{Step::State::kError, "", "SASL completed without a user name"};
    }
  } else if (result == SASL_BADAUTH || result == SASL_NOUSER || result == SASL_BADPROT) {
    step = Step{Step::State::kFailed, "", sasl_errdetail(session.connection)};
  } else {
    step = Step{Step::State::kError, "", sasl_errdetail(session.connection)};
  }
  dispose(session);
  return step;
}

std::optional<std::string> V0Authenticator::principal(const std::string& driver) const {
  std::lock_guard lock(mutex_);
  auto it = principals_.find(driver);
  if (it == principals_.end()) return std::nullopt;
  return it->second;
}

}  // namespace mantle::master
