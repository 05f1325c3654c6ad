// Mantle's own implementation of libprocess messaging, the protocol Mesos'
// libmesos drivers (the "v0" scheduler and executor drivers) speak.
//
// The protocol: every actor has a UPID `name@ip:port`. A message is an
// HTTP/1.1 request `POST /<receiver name>/<message name>` to the receiver's
// server, whose body is the serialized protobuf and whose sender is in the
// `Libprocess-From` header (older peers send only `User-Agent:
// libprocess/<upid>`). The receiver answers 202 Accepted (404 when no such
// actor) and the sender ignores the answer: a reply is a message of its own,
// POSTed by the replier to the sender's server on a connection of its own.
// Connections are persistent, one per peer address, and messages on one keep
// their order. Mesos "links" to a peer to learn that it went away: the
// connection to it breaks (or cannot be made).
//
// Here: inbound messages arrive on the daemon's existing HTTP server (same
// port, no second listener): the daemon hands every request to
// Transport::serve first, which answers and consumes libprocess messages and
// leaves every other request alone. Outbound messages go out on the
// Transport's own connections, driven by its own thread, so sending never
// blocks the caller. Usage:
//
//   libprocess::Transport transport({"127.0.0.1", port});
//   transport.install<mesos::internal::RegisterExecutorMessage>(
//       "slave(1)", [](const libprocess::Upid& from, mesos::internal::RegisterExecutorMessage m) { ... });
//   transport.onExited([](const libprocess::Upid& peer) { ... });
//   // in the HTTP handler:      if (transport.serve(request, responder)) return;
//   // to answer:                transport.send(transport.self("slave(1)"), from, message);
//   // to learn of its exit:     transport.link(from);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <google/protobuf/message_lite.h>

#include "http/server.hpp"
#include "mantle/result.hpp"

namespace mantle::libprocess {

// A libprocess process id, `id@host:port` (host: an IP, as libprocess sends
// it; a name is resolved when connecting).
struct Upid {
  std::string id;
  std::string host;
  std::uint16_t port = 0;

  // InvalidArgument naming what is wrong for anything but `id@host:port`
  // with a non-empty id and host and a port in 1..65535.
  static Result<Upid> parse(std::string_view text);
  std::string str() const;      // "id@host:port"
  std::string address() const;  // "host:port"
  bool operator==(const Upid& other) const = default;
};

// One inbound message.
struct Message {
  Upid from;
  std::string to;    // the receiving actor's name
  std::string name;  // e.g. "mesos.internal.RegisterFrameworkMessage"
  std::string body;  // the serialized protobuf
};

// Is `request` a libprocess message? A POST with a `Libprocess-From` header
// or a `User-Agent: libprocess/...` one, as libprocess itself decides; every
// other request is plain HTTP.
bool isMessage(const http::Request& request);

// The message in a request isMessage accepts: InvalidArgument when the
// sender is not a UPID or the path is not `/<actor>/<name>`. The actor name
// is percent-decoded.
Result<Message> decode(const http::Request& request);

// The bytes libprocess puts on the wire for a message: the request line, the
// headers libprocess sends (User-Agent, Libprocess-From, Connection:
// Keep-Alive, Host) and the body in one chunk (no body: no chunks).
std::string encode(const Upid& from, const Upid& to, std::string_view name, std::string_view body);

class Transport {
 public:
  // Handlers run on the HTTP server's connection thread that read the
  // message, in the order the sender sent them; they must not block.
  using Handler = std::function<void(Message message)>;
  // Runs on the transport's thread; must not block.
  using ExitHandler = std::function<void(const Upid& peer)>;

  struct Address {
    std::string host;  // the IP peers reach this daemon's server at
    std::uint16_t port = 0;
  };

  // Starts the sending thread. `address` is the daemon's HTTP server.
  explicit Transport(Address address);
  ~Transport();  // drops unsent messages and closes every connection
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // The UPID of local actor `actor`.
  Upid self(const std::string& actor) const;

  // Handles messages named `name` to local actor `actor` (replacing an
  // earlier handler for the pair). Install before serving.
  void install(const std::string& actor, const std::string& name, Handler handler);
  // The same for a protobuf message: the body is parsed as M first; a body
  // that does not parse is logged with its sender and dropped. `name`
  // defaults to M's full protobuf name (right for mesos.internal.*; a
  // mesos.scheduler.Call is decoded as mesos.v1.scheduler.Call, which is
  // wire-identical, so it names itself).
  template <typename M>
  void install(const std::string& actor, std::function<void(const Upid& from, M message)> handler,
               std::string name = M().GetTypeName()) {
    install(actor, name, [handler = std::move(handler)](Message message) {
      M parsed;
      if (!parsed.ParseFromString(message.body)) return dropMalformed(message);
      handler(message.from, std::move(parsed));
    });
  }

  // When `request` is a libprocess message, answers it and returns true:
  // 202 after the handler ran, 404 for an actor with no handler, 400 for a
  // message decode() refuses. A known actor's unknown message is answered
  // 202, logged with its sender and dropped. False for any other request
  // (not answered).
  bool serve(const http::Request& request, const http::Responder& responder);

  // Queues a message to `to` on the connection to its address (opened on
  // first use, and again after it broke). Never blocks; messages to one
  // address leave in the order sent. A message that cannot be delivered
  // (no connection, the connection broke) is dropped and logged.
  void send(const Upid& from, const Upid& to, const std::string& name, std::string body);
  void send(const Upid& from, const Upid& to, const google::protobuf::MessageLite& message);
  // With an explicit name (e.g. "mesos.scheduler.Event").
  void send(const Upid& from, const Upid& to, const std::string& name, const google::protobuf::MessageLite& message);

  // Watches `peer`: opens the connection to its address now (if none), and
  // calls the exit handler with `peer` once that connection breaks or
  // cannot be made. Once per break: link again to keep watching.
  void link(const Upid& peer);
  // The one exit handler (set before linking).
  void onExited(ExitHandler handler);

 private:
  static void dropMalformed(const Message& message);

  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mantle::libprocess
