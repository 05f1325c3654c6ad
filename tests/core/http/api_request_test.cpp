// The v1 API request prologue every master and agent endpoint shares.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/api_request.hpp"
#include "mesos/v1/master/master.pb.h"

namespace mantle::http {
namespace {

using ::testing::HasSubstr;
using Call = mesos::v1::master::Call;

Request post(std::string body, Headers headers) {
  Request request;
  request.method = "POST";
  request.path = "/api/v1";
  request.body = std::move(body);
  request.headers = std::move(headers);
  return request;
}

wire::ResponseFraming streamForSubscribe(const Call& call) {
  return call.type() == Call::SUBSCRIBE ? wire::ResponseFraming::kStream : wire::ResponseFraming::kSingle;
}

TEST(ApiRequestTest, DecodesTheCallAndNegotiatesBothEncodings) {
  auto read = readApiCall<Call>(
      post(R"({"type":"GET_HEALTH"})", {{"Content-Type", "application/json"}, {"Accept", "application/x-protobuf"}}),
      "a master Call");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->call.type(), Call::GET_HEALTH);
  EXPECT_EQ(read->request.message, wire::MediaType::kJson);
  EXPECT_EQ(read->response.message, wire::MediaType::kProtobuf);
  EXPECT_EQ(read->response.framing, wire::ResponseFraming::kSingle);

  auto subscribe = readApiCall<Call>(post(R"({"type":"SUBSCRIBE"})", {{"Content-Type", "application/json"}}),
                                     "a master Call", streamForSubscribe);
  ASSERT_TRUE(subscribe.ok()) << subscribe.error().message;
  EXPECT_EQ(subscribe->response.framing, wire::ResponseFraming::kStream);
}

TEST(ApiRequestTest, EveryBadRequestGetsItsStatusAndAPreciseMessage) {
  Request get = post("", {});
  get.method = "GET";
  auto notPost = readApiCall<Call>(get, "a master Call");
  ASSERT_FALSE(notPost.ok());
  Response refused = errorResponse(notPost.error());
  EXPECT_EQ(refused.status, 405);
  EXPECT_EQ(refused.body, "Expecting 'POST', received 'GET'");
  EXPECT_EQ(refused.headers.back(), (std::pair<std::string, std::string>{"Allow", "POST"}));

  auto noType = readApiCall<Call>(post("{}", {}), "a master Call");
  ASSERT_FALSE(noType.ok());
  EXPECT_EQ(noType.error().status, 400);
  EXPECT_THAT(noType.error().message, HasSubstr("Content-Type"));

  auto html = readApiCall<Call>(post("{}", {{"Content-Type", "text/html"}}), "a master Call");
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.error().status, 415);

  auto garbage = readApiCall<Call>(post("{not json", {{"Content-Type", "application/json"}}), "a master Call");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().status, 400);
  EXPECT_THAT(garbage.error().message, HasSubstr("Failed to parse the body into a master Call: "));

  auto unacceptable = readApiCall<Call>(
      post(R"({"type":"GET_HEALTH"})", {{"Content-Type", "application/json"}, {"Accept", "text/html"}}), "a master Call");
  ASSERT_FALSE(unacceptable.ok());
  EXPECT_EQ(unacceptable.error().status, 406);
  EXPECT_EQ(errorResponse(unacceptable.error()).headers.size(), 1u);  // Content-Type only
}

}  // namespace
}  // namespace mantle::http
