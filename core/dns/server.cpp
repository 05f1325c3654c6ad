#include "dns/server.hpp"

#include <ldns/ldns.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <memory>

#include <glog/logging.h>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "wire/host_port.hpp"

namespace mantle::dns {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

struct PacketFree {
  void operator()(ldns_pkt* packet) const { ldns_pkt_free(packet); }
};
using Packet = std::unique_ptr<ldns_pkt, PacketFree>;

std::vector<std::uint8_t> toWire(const ldns_pkt* packet) {
  std::uint8_t* data = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&data, packet, &size) != LDNS_STATUS_OK) return {};
  std::vector<std::uint8_t> wire(data, data + size);
  std::free(data);
  return wire;
}

std::string ownerName(const ldns_rr* question) {
  char* text = ldns_rdf2str(ldns_rr_owner(question));
  std::string name = text == nullptr ? "" : text;
  std::free(text);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.empty() || name.back() != '.') name.push_back('.');
  return name;
}

// Adds "<name> <ttl> IN <type> <rdata>" to `section`.
void push(ldns_pkt* packet, ldns_pkt_section section, const std::string& name, std::uint32_t ttl,
          const Record& record) {
  ldns_rr* rr = nullptr;
  const std::string text = name + " " + std::to_string(ttl) + " IN " + record.type + " " + record.rdata;
  if (ldns_rr_new_frm_str(&rr, text.c_str(), ttl, nullptr, nullptr) != LDNS_STATUS_OK) {
    LOG(WARNING) << "Record does not parse: " << text;
    return;
  }
  ldns_pkt_push_rr(packet, section, rr);
}

bool matches(ldns_rr_type wanted, const Record& record) {
  return wanted == LDNS_RR_TYPE_ANY || ldns_get_rr_type_by_name(record.type.c_str()) == wanted;
}

}  // namespace

std::vector<std::uint8_t> answer(const std::uint8_t* query, std::size_t size, const Zone& zone, std::uint32_t ttl,
                                 std::size_t maxSize, bool* forward) {
  *forward = false;
  ldns_pkt* parsed = nullptr;
  if (ldns_wire2pkt(&parsed, query, size) != LDNS_STATUS_OK) return {};
  Packet request(parsed);
  Packet reply(ldns_pkt_new());
  ldns_pkt_set_id(reply.get(), ldns_pkt_id(request.get()));
  ldns_pkt_set_qr(reply.get(), true);
  ldns_pkt_set_rd(reply.get(), ldns_pkt_rd(request.get()));
  ldns_pkt_set_opcode(reply.get(), ldns_pkt_get_opcode(request.get()));
  ldns_rr_list* questions = ldns_pkt_question(request.get());
  if (ldns_pkt_get_opcode(request.get()) != LDNS_PACKET_QUERY || ldns_rr_list_rr_count(questions) != 1) {
    ldns_pkt_set_rcode(reply.get(), LDNS_RCODE_NOTIMPL);
    return toWire(reply.get());
  }
  const ldns_rr* question = ldns_rr_list_rr(questions, 0);
  ldns_pkt_push_rr(reply.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(question));
  const std::string name = ownerName(question);
  if (!zone.contains(name)) {
    *forward = true;
    return {};
  }
  ldns_pkt_set_aa(reply.get(), true);
  const ldns_rr_type wanted = ldns_rr_get_type(question);
  const std::vector<Record>* records = zone.find(name);
  bool answered = false;
  if (records != nullptr) {
    for (const Record& record : *records) {
      if (!matches(wanted, record)) continue;
      push(reply.get(), LDNS_SECTION_ANSWER, name, ttl, record);
      answered = true;
      if (record.type != "SRV") continue;
      // The target's address, so that clients need not ask again.
      const std::string target = record.rdata.substr(record.rdata.rfind(' ') + 1);
      if (const std::vector<Record>* addresses = zone.find(target)) {
        for (const Record& address : *addresses) {
          if (address.type == "A") push(reply.get(), LDNS_SECTION_ADDITIONAL, target, ttl, address);
        }
      }
    }
  } else {
    ldns_pkt_set_rcode(reply.get(), LDNS_RCODE_NXDOMAIN);
  }
  if (!answered) push(reply.get(), LDNS_SECTION_AUTHORITY, zone.origin(), ttl, {"SOA", zone.soa()});
  std::vector<std::uint8_t> wire = toWire(reply.get());
  if (maxSize > 0 && wire.size() > maxSize) {
    // Too big for this UDP answer: the client asks again over TCP.
    Packet truncated(ldns_pkt_new());
    ldns_pkt_set_id(truncated.get(), ldns_pkt_id(request.get()));
    ldns_pkt_set_qr(truncated.get(), true);
    ldns_pkt_set_aa(truncated.get(), true);
    ldns_pkt_set_tc(truncated.get(), true);
    ldns_pkt_set_rd(truncated.get(), ldns_pkt_rd(request.get()));
    ldns_pkt_push_rr(truncated.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(question));
    wire = toWire(truncated.get());
  }
  return wire;
}

Result<std::vector<Upstream>> parseResolvers(const std::string& text) {
  std::vector<Upstream> upstreams;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    std::size_t comma = text.find(',', start);
    std::string entry = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (entry.empty()) continue;
    Upstream upstream;
    upstream.ip = entry;
    if (entry.find(':') != std::string::npos) {
      Result<wire::HostPort> address = wire::parseHostPort(entry);
      if (!address.ok()) return Error(StatusCode::kInvalidArgument, "resolver " + address.error().message);
      upstream.ip = address->host;
      upstream.port = static_cast<std::uint16_t>(address->port);
    }
    boost::system::error_code error;
    asio::ip::make_address_v4(upstream.ip, error);
    if (error) return Error(StatusCode::kInvalidArgument, "resolver '" + entry + "': not an IPv4 address");
    upstreams.push_back(upstream);
  }
  return upstreams;
}

// One TCP connection: queries framed by a two-byte length, answered in order.
class Server::TcpSession : public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(Server& server, tcp::socket socket) : server_(server), socket_(std::move(socket)) {}

  void read() {
    auto self = shared_from_this();
    asio::async_read(socket_, asio::buffer(length_), [self](boost::system::error_code error, std::size_t) {
      if (error) return;
      self->query_.resize((self->length_[0] << 8) | self->length_[1]);
      asio::async_read(self->socket_, asio::buffer(self->query_), [self](boost::system::error_code error, std::size_t) {
        if (error) return;
        self->server_.handle(self->query_, true, [self](std::vector<std::uint8_t> reply) {
          if (reply.empty() || reply.size() > 65535) return;  // dropped: the client gives up
          auto out = std::make_shared<std::vector<std::uint8_t>>(reply.size() + 2);
          (*out)[0] = static_cast<std::uint8_t>(reply.size() >> 8);
          (*out)[1] = static_cast<std::uint8_t>(reply.size() & 0xff);
          std::copy(reply.begin(), reply.end(), out->begin() + 2);
          asio::async_write(self->socket_, asio::buffer(*out),
                            [self, out](boost::system::error_code error, std::size_t) {
                              if (!error) self->read();
                            });
        });
      });
    });
  }

 private:
  Server& server_;
  tcp::socket socket_;
  std::array<std::uint8_t, 2> length_{};
  std::vector<std::uint8_t> query_;
};

Server::Server(asio::io_context& io, ServerOptions options)
    : io_(io), options_(std::move(options)), udp_(io), acceptor_(io), buffer_(65535), zone_(std::make_shared<Zone>()) {}

Server::~Server() {
  pool_.join();
}

Result<std::unique_ptr<Server>> Server::create(asio::io_context& io, ServerOptions options) {
  boost::system::error_code error;
  const asio::ip::address address = asio::ip::make_address(options.host, error);
  if (error) return Error(StatusCode::kInvalidArgument, "'" + options.host + "' is not an IP address");
  std::unique_ptr<Server> server(new Server(io, options));
  const std::string where = options.host + ":" + std::to_string(options.port);
  // With port 0, TCP picks the port and UDP binds the same one (retried
  // when UDP's is taken).
  for (int attempt = 0; attempt < 20; ++attempt) {
    server->acceptor_ = tcp::acceptor(io);
    server->udp_ = udp::socket(io);
    tcp::endpoint endpoint(address, options.port);
    server->acceptor_.open(endpoint.protocol(), error);
    if (!error) server->acceptor_.set_option(tcp::acceptor::reuse_address(true), error);
    if (!error) server->acceptor_.bind(endpoint, error);
    if (!error) server->acceptor_.listen(asio::socket_base::max_listen_connections, error);
    if (error) return Error(StatusCode::kUnavailable, "cannot listen on TCP " + where + ": " + error.message());
    const std::uint16_t port = server->acceptor_.local_endpoint().port();
    server->udp_.open(udp::endpoint(address, port).protocol(), error);
    if (!error) server->udp_.bind(udp::endpoint(address, port), error);
    if (!error) {
      server->options_.port = port;
      break;
    }
    if (options.port != 0 || attempt == 19) {
      return Error(StatusCode::kUnavailable, "cannot bind UDP " + where + ": " + error.message());
    }
  }
  server->receive();
  server->accept();
  return server;
}

void Server::setZone(std::shared_ptr<const Zone> zone) {
  std::lock_guard<std::mutex> lock(mutex_);
  zone_ = std::move(zone);
}

std::shared_ptr<const Zone> Server::zone() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return zone_;
}

void Server::receive() {
  udp_.async_receive_from(asio::buffer(buffer_), sender_, [this](boost::system::error_code error, std::size_t size) {
    if (error == asio::error::operation_aborted) return;
    if (!error) {
      udp::endpoint sender = sender_;
      handle({buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(size)}, false,
             [this, sender](std::vector<std::uint8_t> reply) {
               if (reply.empty()) return;
               auto out = std::make_shared<std::vector<std::uint8_t>>(std::move(reply));
               udp_.async_send_to(asio::buffer(*out), sender, [out](boost::system::error_code, std::size_t) {});
             });
    }
    receive();
  });
}

void Server::accept() {
  acceptor_.async_accept([this](boost::system::error_code error, tcp::socket socket) {
    if (error == asio::error::operation_aborted) return;
    if (!error) std::make_shared<TcpSession>(*this, std::move(socket))->read();
    accept();
  });
}

void Server::handle(std::vector<std::uint8_t> query, bool tcp, std::function<void(std::vector<std::uint8_t>)> reply) {
  std::size_t maxSize = 0;
  if (!tcp) {
    maxSize = 512;
    ldns_pkt* parsed = nullptr;
    if (ldns_wire2pkt(&parsed, query.data(), query.size()) == LDNS_STATUS_OK) {
      Packet request(parsed);
      if (ldns_pkt_edns(request.get())) maxSize = std::max<std::size_t>(512, ldns_pkt_edns_udp_size(request.get()));
    }
  }
  bool forwarded = false;
  std::vector<std::uint8_t> wire = answer(query.data(), query.size(), *zone(), options_.ttl, maxSize, &forwarded);
  if (!forwarded) {
    reply(std::move(wire));
    return;
  }
  asio::post(pool_, [this, query = std::move(query), tcp, reply = std::move(reply)]() mutable {
    std::vector<std::uint8_t> wire = forward(query, tcp);
    asio::post(io_, [reply = std::move(reply), wire = std::move(wire)]() mutable { reply(std::move(wire)); });
  });
}

std::vector<std::uint8_t> Server::forward(const std::vector<std::uint8_t>& query, bool tcp) const {
  ldns_pkt* parsed = nullptr;
  if (ldns_wire2pkt(&parsed, query.data(), query.size()) != LDNS_STATUS_OK) return {};
  Packet request(parsed);
  for (const Upstream& upstream : options_.resolvers) {
    ldns_resolver* resolver = ldns_resolver_new();
    ldns_rdf* address = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, upstream.ip.c_str());
    ldns_resolver_push_nameserver(resolver, address);
    ldns_rdf_deep_free(address);
    ldns_resolver_set_port(resolver, upstream.port);
    ldns_resolver_set_usevc(resolver, tcp);
    ldns_resolver_set_retry(resolver, 1);
    const auto timeout = static_cast<long>(options_.forwardTimeoutSeconds * 1000000);
    ldns_resolver_set_timeout(resolver, timeval{timeout / 1000000, timeout % 1000000});
    ldns_pkt* response = nullptr;
    const ldns_status status = ldns_resolver_send_pkt(&response, resolver, request.get());
    ldns_resolver_deep_free(resolver);
    if (status == LDNS_STATUS_OK && response != nullptr) {
      Packet answer(response);
      ldns_pkt_set_id(answer.get(), ldns_pkt_id(request.get()));
      return toWire(answer.get());
    }
    LOG(WARNING) << "Resolver " << upstream.ip << ":" << upstream.port << ": " << ldns_get_errorstr_by_id(status);
  }
  // No resolver (or none answered): refused / server failure.
  Packet reply(ldns_pkt_new());
  ldns_pkt_set_id(reply.get(), ldns_pkt_id(request.get()));
  ldns_pkt_set_qr(reply.get(), true);
  ldns_pkt_set_rd(reply.get(), ldns_pkt_rd(request.get()));
  ldns_pkt_set_ra(reply.get(), !options_.resolvers.empty());
  ldns_pkt_set_rcode(reply.get(), options_.resolvers.empty() ? LDNS_RCODE_REFUSED : LDNS_RCODE_SERVFAIL);
  ldns_rr_list* questions = ldns_pkt_question(request.get());
  if (ldns_rr_list_rr_count(questions) > 0) {
    ldns_pkt_push_rr(reply.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(ldns_rr_list_rr(questions, 0)));
  }
  return toWire(reply.get());
}

}  // namespace mantle::dns
