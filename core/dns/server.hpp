// mantle-dns's DNS server: UDP and TCP on one address (Boost.Asio), the wire
// format through ldns. Names in the zone's domain are answered from the zone
// (authoritative; NXDOMAIN with the SOA when unknown); other names are
// forwarded to the upstream resolvers, or REFUSED when there are none.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "dns/zone.hpp"
#include "mantle/result.hpp"

namespace mantle::dns {

struct Upstream {
  std::string ip;
  std::uint16_t port = 53;
};

// "ip" or "ip:port" entries separated by commas. Errors name the entry.
Result<std::vector<Upstream>> parseResolvers(const std::string& text);

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 53;  // 0: any free port (the same for UDP and TCP)
  std::uint32_t ttl = 60;
  std::vector<Upstream> resolvers;
  double forwardTimeoutSeconds = 2;
};

// The answer to one query (DNS wire format) from `zone`; empty when the query
// does not parse (it is dropped). `*forward` is set instead when the name is
// outside the zone. `maxSize`: the most a UDP answer may take (TC is set and
// the records dropped beyond it); 0 for TCP.
std::vector<std::uint8_t> answer(const std::uint8_t* query, std::size_t size, const Zone& zone, std::uint32_t ttl,
                                 std::size_t maxSize, bool* forward);

class Server {
 public:
  // Binds UDP and TCP. Errors: the address does not parse or cannot be bound.
  static Result<std::unique_ptr<Server>> create(boost::asio::io_context& io, ServerOptions options);
  ~Server();

  std::uint16_t port() const { return options_.port; }
  // Replaces the zone answered from. Thread-safe.
  void setZone(std::shared_ptr<const Zone> zone);

 private:
  class TcpSession;
  Server(boost::asio::io_context& io, ServerOptions options);
  std::shared_ptr<const Zone> zone() const;
  void receive();
  void accept();
  // Answers `query`; `reply` gets the answer on the io_context's thread
  // (forwarded queries are resolved on the pool).
  void handle(std::vector<std::uint8_t> query, bool tcp, std::function<void(std::vector<std::uint8_t>)> reply);
  std::vector<std::uint8_t> forward(const std::vector<std::uint8_t>& query, bool tcp) const;

  boost::asio::io_context& io_;
  ServerOptions options_;
  boost::asio::ip::udp::socket udp_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::udp::endpoint sender_;
  std::vector<std::uint8_t> buffer_;
  boost::asio::thread_pool pool_{2};
  mutable std::mutex mutex_;
  std::shared_ptr<const Zone> zone_;
};

}  // namespace mantle::dns
