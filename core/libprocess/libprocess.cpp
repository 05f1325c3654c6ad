#include "libprocess/libprocess.hpp"

#include <array>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <glog/logging.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "wire/host_port.hpp"

namespace mantle::libprocess {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kUserAgentPrefix = "libprocess/";
constexpr auto kConnectTimeout = std::chrono::seconds(10);

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

// The sender a libprocess message names, "" when none.
std::string senderOf(const http::Request& request) {
  if (request.hasHeader("Libprocess-From")) return std::string(trim(request.header("Libprocess-From")));
  std::string agent = request.header("User-Agent");
  std::size_t at = agent.find(kUserAgentPrefix);
  if (at == std::string::npos) return "";
  return std::string(trim(std::string_view(agent).substr(at + kUserAgentPrefix.size())));
}

}  // namespace

// ---------------------------------------------------------------------------
// UPIDs and messages

Result<Upid> Upid::parse(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return invalidArgument("Invalid UPID '" + std::string(text) + "': " + why);
  };
  std::size_t at = text.find('@');
  if (at == std::string_view::npos) return invalid("expected 'id@host:port'");
  Upid upid;
  upid.id = std::string(text.substr(0, at));
  if (upid.id.empty()) return invalid("empty id");
  Result<wire::HostPort> address = wire::parseHostPort(text.substr(at + 1));
  if (!address.ok()) return invalid(address.error().message);
  upid.host = std::move(address->host);
  upid.port = static_cast<std::uint16_t>(address->port);
  return upid;
}

std::string Upid::address() const {
  return wire::joinHostPort(host, port);
}

std::string Upid::str() const {
  return id + "@" + address();
}

bool isMessage(const http::Request& request) {
  if (request.method != "POST") return false;
  return request.hasHeader("Libprocess-From") || request.header("User-Agent").rfind(kUserAgentPrefix, 0) == 0;
}

Result<Message> decode(const http::Request& request) {
  Result<Upid> from = Upid::parse(senderOf(request));
  if (!from.ok()) return from.error().withContext("Failed to determine the sender");
  const std::string& path = request.path;
  if (path.empty() || path[0] != '/') return invalidArgument("The request path must start with '/'");
  std::size_t slash = path.find('/', 1);
  if (slash == std::string::npos || slash == 1 || slash + 1 == path.size()) {
    return invalidArgument("Expected a path '/<actor>/<message name>', got '" + path + "'");
  }
  Message message;
  message.from = std::move(*from);
  message.to = http::urlDecode(std::string_view(path).substr(1, slash - 1), /*plusIsSpace=*/false);
  message.name = path.substr(slash + 1);
  message.body = request.body;
  return message;
}

std::string encode(const Upid& from, const Upid& to, std::string_view name, std::string_view body) {
  std::string out = "POST /" + to.id + "/" + std::string(name) + " HTTP/1.1\r\n";
  out += "User-Agent: libprocess/" + from.str() + "\r\n";
  out += "Libprocess-From: " + from.str() + "\r\n";
  out += "Connection: Keep-Alive\r\n";
  out += "Host: " + to.address() + "\r\n";
  if (body.empty()) return out + "\r\n";
  char size[32];
  auto [end, ec] = std::to_chars(size, size + sizeof(size), body.size(), 16);
  out += "Transfer-Encoding: chunked\r\n\r\n";
  out.append(size, end);
  out += "\r\n";
  out.append(body);
  out += "\r\n0\r\n\r\n";
  return out;
}

// ---------------------------------------------------------------------------
// Transport

// One connection to a peer address. Lives on the transport's thread.
struct Peer {
  explicit Peer(asio::io_context& io) : socket(io), resolver(io), timer(io) {}
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer timer;
  bool connecting = false;
  bool connected = false;
  bool writing = false;
  std::deque<std::string> queue;
  std::set<std::string> linked;  // UPIDs watched at this address
  std::array<char, 4096> readBuffer{};
  std::uint64_t generation = 0;  // which connection the callbacks belong to
};

struct Transport::Impl : std::enable_shared_from_this<Impl> {
  Address address;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;

  std::mutex mutex;  // guards handlers, actors and exitHandler
  std::map<std::pair<std::string, std::string>, Handler> handlers;
  std::set<std::string> actors;
  ExitHandler exitHandler;

  // Transport thread only.
  std::map<std::string, std::unique_ptr<Peer>> peers;  // by address

  Peer& peer(const Upid& to) {
    std::unique_ptr<Peer>& slot = peers[to.address()];
    if (!slot) slot = std::make_unique<Peer>(io);
    return *slot;
  }

  void connect(const std::string& key, const Upid& to) {
    Peer& p = *peers.at(key);
    if (p.connecting || p.connected) return;
    p.connecting = true;
    std::uint64_t generation = ++p.generation;
    std::weak_ptr<Impl> weak = weak_from_this();
    p.timer.expires_after(kConnectTimeout);
    p.timer.async_wait([weak, key, generation](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      auto it = self->peers.find(key);
      if (it == self->peers.end() || it->second->generation != generation || !it->second->connecting) return;
      self->broken(key, generation, "connect timed out");
    });
    p.resolver.async_resolve(
        to.host, std::to_string(to.port),
        [weak, key, generation](const boost::system::error_code& ec, tcp::resolver::results_type results) {
          auto self = weak.lock();
          if (!self) return;
          auto it = self->peers.find(key);
          if (it == self->peers.end() || it->second->generation != generation) return;
          if (ec) return self->broken(key, generation, "resolving failed: " + ec.message());
          asio::async_connect(it->second->socket, results,
                              [weak, key, generation](const boost::system::error_code& ec, const tcp::endpoint&) {
                                auto self = weak.lock();
                                if (self) self->connected(key, generation, ec);
                              });
        });
  }

  void connected(const std::string& key, std::uint64_t generation, const boost::system::error_code& ec) {
    auto it = peers.find(key);
    if (it == peers.end() || it->second->generation != generation) return;
    Peer& p = *it->second;
    if (ec) return broken(key, generation, "connect failed: " + ec.message());
    p.timer.cancel();
    p.connecting = false;
    p.connected = true;
    boost::system::error_code ignored;
    p.socket.set_option(tcp::no_delay(true), ignored);
    read(key, generation);
    write(key);
  }

  // Reads and ignores what the peer answers (202s); EOF or an error is the
  // peer going away.
  void read(const std::string& key, std::uint64_t generation) {
    Peer& p = *peers.at(key);
    std::weak_ptr<Impl> weak = weak_from_this();
    p.socket.async_read_some(asio::buffer(p.readBuffer),
                             [weak, key, generation](const boost::system::error_code& ec, std::size_t) {
                               auto self = weak.lock();
                               if (!self) return;
                               auto it = self->peers.find(key);
                               if (it == self->peers.end() || it->second->generation != generation) return;
                               if (ec) return self->broken(key, generation, ec.message());
                               self->read(key, generation);
                             });
  }

  void write(const std::string& key) {
    Peer& p = *peers.at(key);
    if (!p.connected || p.writing || p.queue.empty()) return;
    p.writing = true;
    std::uint64_t generation = p.generation;
    std::weak_ptr<Impl> weak = weak_from_this();
    asio::async_write(p.socket, asio::buffer(p.queue.front()),
                      [weak, key, generation](const boost::system::error_code& ec, std::size_t) {
                        auto self = weak.lock();
                        if (!self) return;
                        auto it = self->peers.find(key);
                        if (it == self->peers.end() || it->second->generation != generation) return;
                        Peer& p = *it->second;
                        p.writing = false;
                        if (ec) return self->broken(key, generation, "write failed: " + ec.message());
                        p.queue.pop_front();
                        self->write(key);
                      });
  }

  // The connection `generation` to `key` is gone: unsent messages are
  // dropped, linked peers exit, the next send connects again.
  void broken(const std::string& key, std::uint64_t generation, const std::string& why) {
    auto it = peers.find(key);
    if (it == peers.end() || it->second->generation != generation) return;
    std::unique_ptr<Peer> p = std::move(it->second);
    peers.erase(it);
    if (!p->queue.empty()) {
      LOG(WARNING) << "libprocess: dropping " << p->queue.size() << " message(s) to " << key << ": " << why;
    } else {
      VLOG(1) << "libprocess: connection to " << key << " closed: " << why;
    }
    boost::system::error_code ignored;
    p->timer.cancel();
    p->resolver.cancel();
    p->socket.close(ignored);
    ExitHandler handler;
    {
      std::lock_guard lock(mutex);
      handler = exitHandler;
    }
    for (const std::string& linked : p->linked) {
      Result<Upid> upid = Upid::parse(linked);
      if (handler && upid.ok()) handler(*upid);
    }
    // Pending callbacks hold the generation only; the peer may go now.
    asio::post(io, [p = std::shared_ptr<Peer>(std::move(p))] {});
  }
};

Transport::Transport(Address address) : impl_(std::make_shared<Impl>()) {
  impl_->address = std::move(address);
  impl_->work.emplace(impl_->io.get_executor());
  impl_->thread = std::thread([impl = impl_] { impl->io.run(); });
}

Transport::~Transport() {
  asio::post(impl_->io, [impl = impl_] {
    for (auto& [key, peer] : impl->peers) {
      boost::system::error_code ignored;
      peer->socket.close(ignored);
      peer->timer.cancel();
      peer->resolver.cancel();
    }
    impl->peers.clear();
    impl->work.reset();
    impl->io.stop();
  });
  impl_->thread.join();
}

Upid Transport::self(const std::string& actor) const {
  return Upid{actor, impl_->address.host, impl_->address.port};
}

void Transport::install(const std::string& actor, const std::string& name, Handler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->actors.insert(actor);
  impl_->handlers[{actor, name}] = std::move(handler);
}

void Transport::dropMalformed(const Message& message) {
  LOG(WARNING) << "libprocess: dropping a malformed " << message.name << " (" << message.body.size() << " bytes) from "
               << message.from.str() << " to " << message.to;
}

bool Transport::serve(const http::Request& request, const http::Responder& responder) {
  if (!isMessage(request)) return false;
  Result<Message> message = decode(request);
  if (!message.ok()) {
    LOG(WARNING) << "libprocess: refusing a message from " << request.remoteAddress << " to " << request.path << ": "
                 << message.error().message;
    responder.respond(http::Response::error(message.error()));
    return true;
  }
  Handler handler;
  bool knownActor = false;
  {
    std::lock_guard lock(impl_->mutex);
    knownActor = impl_->actors.count(message->to) > 0;
    auto it = impl_->handlers.find({message->to, message->name});
    if (it != impl_->handlers.end()) handler = it->second;
  }
  if (!knownActor) {
    LOG(WARNING) << "libprocess: no actor '" << message->to << "' for " << message->name << " from "
                 << message->from.str();
    responder.respond(http::Response::text(404, "No actor '" + message->to + "'"));
    return true;
  }
  if (!handler) {
    LOG(WARNING) << "libprocess: dropping unknown message " << message->name << " from " << message->from.str()
                 << " to " << message->to;
  } else {
    handler(std::move(*message));
  }
  responder.respond(http::Response{202, {}, ""});
  return true;
}

void Transport::send(const Upid& from, const Upid& to, const std::string& name, std::string body) {
  asio::post(impl_->io, [impl = impl_, from, to, name, body = std::move(body)]() mutable {
    Peer& p = impl->peer(to);
    p.queue.push_back(encode(from, to, name, body));
    if (p.connected) return impl->write(to.address());
    impl->connect(to.address(), to);
  });
}

void Transport::send(const Upid& from, const Upid& to, const google::protobuf::MessageLite& message) {
  send(from, to, message.GetTypeName(), message);
}

void Transport::send(const Upid& from, const Upid& to, const std::string& name,
                     const google::protobuf::MessageLite& message) {
  send(from, to, name, message.SerializeAsString());
}

void Transport::link(const Upid& peer) {
  asio::post(impl_->io, [impl = impl_, peer] {
    Peer& p = impl->peer(peer);
    p.linked.insert(peer.str());
    impl->connect(peer.address(), peer);
  });
}

void Transport::onExited(ExitHandler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->exitHandler = std::move(handler);
}

}  // namespace mantle::libprocess
