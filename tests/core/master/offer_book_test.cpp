// The master's offer book on its own: indexes by framework and agent, what
// removing, taking and rescinding an offer does.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "master/offer_book.hpp"

namespace mantle::master {
namespace {

OfferEntry entry(const std::string& id, const std::string& framework, const std::string& agent, double cpus) {
  mesos::v1::Offer offer;
  offer.mutable_id()->set_value(id);
  mesos::v1::Resource r;
  r.set_name("cpus");
  r.set_type(mesos::v1::Value::SCALAR);
  r.mutable_scalar()->set_value(cpus);
  resources::Resources resources;
  resources.add(r);
  // Distinct ages (createdSteady = cpus) for expired().
  return {framework, agent, cpus, std::make_shared<const OfferPiece>(std::move(offer), std::move(resources))};
}

class OfferBookTest : public ::testing::Test {
 protected:
  AllocatorClient allocator_{[] { return 0.0; }, [](const Error&) {}};
  std::vector<std::pair<std::string, std::string>> rescinded_;
  OfferBook book_{allocator_, [this](const std::string& framework, const std::string& offer) {
                    rescinded_.emplace_back(framework, offer);
                  }};
};

TEST_F(OfferBookTest, IndexesOffersByFrameworkAndAgent) {
  book_.setIdPrefix("m");
  EXPECT_EQ(book_.nextId(), "m-O0");
  EXPECT_EQ(book_.nextId(), "m-O1");
  book_.add(entry("o1", "f1", "a1", 1));
  book_.add(entry("o2", "f1", "a2", 2));
  book_.add(entry("o3", "f2", "a1", 4));
  EXPECT_EQ(book_.size(), 3u);
  EXPECT_EQ(book_.ofFramework("f1"), (std::set<std::string>{"o1", "o2"}));
  EXPECT_EQ(book_.onAgent("a1"), (std::set<std::string>{"o1", "o3"}));
  EXPECT_EQ(book_.offeredTo("f1").scalar("cpus"), 3);
  EXPECT_EQ(book_.offeredOn("a1").scalar("cpus"), 5);
  EXPECT_EQ(book_.expired(5, 2.5), (std::vector<std::string>{"o1", "o2"}));
  ASSERT_NE(book_.find("o2"), nullptr);
  EXPECT_EQ(book_.find("o2")->agentId, "a2");
  EXPECT_EQ(book_.find("nope"), nullptr);
}

std::vector<std::string> idsOf(const OfferListPtr& pieces) {
  std::vector<std::string> out;
  for (const OfferPiecePtr& piece : *pieces) out.push_back(piece->offer().id().value());
  return out;
}

TEST_F(OfferBookTest, AFrameworksPiecesFollowEveryOfferMadeOrGone) {
  book_.add(entry("o1", "f1", "a1", 1));
  book_.add(entry("o2", "f1", "a2", 2));
  book_.add(entry("o3", "f2", "a1", 4));
  EXPECT_EQ(idsOf(book_.piecesOf("f1")), (std::vector<std::string>{"o1", "o2"}));
  EXPECT_EQ(book_.piecesOf("f1")->at(1)->resources().scalar("cpus"), 2);
  EXPECT_TRUE(book_.piecesOf("f3")->empty());
  // Unchanged: the same list.
  const OfferListPtr before = book_.piecesOf("f1");
  EXPECT_EQ(book_.piecesOf("f1"), before);
  book_.remove("o2", /*rescind=*/false);
  EXPECT_EQ(idsOf(book_.piecesOf("f1")), (std::vector<std::string>{"o1"}));
  EXPECT_EQ(idsOf(before), (std::vector<std::string>{"o1", "o2"}));  // a published list stays
  (void)book_.take("o3");
  book_.add(entry("o4", "f1", "a3", 1));
  EXPECT_TRUE(book_.piecesOf("f2")->empty());
  EXPECT_EQ(idsOf(book_.piecesOf("f1")), (std::vector<std::string>{"o1", "o4"}));
  book_.rescindOnAgent("a1");
  EXPECT_EQ(idsOf(book_.piecesOf("f1")), (std::vector<std::string>{"o4"}));
}

TEST_F(OfferBookTest, RemovingTakingAndRescindingKeepTheIndexesRight) {
  book_.add(entry("o1", "f1", "a1", 1));
  book_.add(entry("o2", "f1", "a2", 2));
  book_.add(entry("o3", "f2", "a1", 4));

  std::optional<OfferEntry> taken = book_.take("o2");
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->resources().scalar("cpus"), 2);
  EXPECT_FALSE(book_.take("o2"));
  EXPECT_TRUE(book_.onAgent("a2").empty());
  EXPECT_TRUE(rescinded_.empty());  // taken, not rescinded

  book_.remove("o1", /*rescind=*/false);
  EXPECT_TRUE(rescinded_.empty());
  EXPECT_TRUE(book_.ofFramework("f1").empty());

  book_.rescindOnAgent("a1");
  EXPECT_EQ(rescinded_, (std::vector<std::pair<std::string, std::string>>{{"f2", "o3"}}));
  EXPECT_EQ(book_.size(), 0u);
  book_.remove("o3", /*rescind=*/true);  // gone already: nothing happens
  EXPECT_EQ(rescinded_.size(), 1u);
}

}  // namespace
}  // namespace mantle::master
