// Offer constraints (core/master/offer_constraints): validation and the
// predicates as Mesos evaluates them.
#include <gtest/gtest.h>

#include <google/protobuf/text_format.h>

#include "master/offer_constraints.hpp"

namespace mantle::master {
namespace {

namespace v1 = ::mesos::v1;

v1::scheduler::OfferConstraints constraints(const std::string& text) {
  v1::scheduler::OfferConstraints out;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &out)) << text;
  return out;
}

v1::AgentInfo agent(const std::string& hostname) {
  v1::AgentInfo info;
  info.set_hostname(hostname);
  return info;
}

void addText(v1::AgentInfo& info, const std::string& name, const std::string& value) {
  v1::Attribute* a = info.add_attributes();
  a->set_name(name);
  a->set_type(v1::Value::TEXT);
  a->mutable_text()->set_value(value);
}

void addScalar(v1::AgentInfo& info, const std::string& name, double value) {
  v1::Attribute* a = info.add_attributes();
  a->set_name(name);
  a->set_type(v1::Value::SCALAR);
  a->mutable_scalar()->set_value(value);
}

void setDomain(v1::AgentInfo& info, const std::string& region, const std::string& zone) {
  info.mutable_domain()->mutable_fault_domain()->mutable_region()->set_name(region);
  info.mutable_domain()->mutable_fault_domain()->mutable_zone()->set_name(zone);
}

OfferConstraintsFilter filter(const std::string& text, std::vector<std::string> roles = {"r"}) {
  auto f = OfferConstraintsFilter::create(constraints(text), roles);
  EXPECT_TRUE(f.ok()) << f.error().message;
  return f.ok() ? *f : OfferConstraintsFilter();
}

std::string one(const std::string& selector, const std::string& predicate) {
  return "role_constraints { key: 'r' value { groups { attribute_constraints { selector { " + selector +
         " } predicate { " + predicate + " } } } } }";
}

TEST(OfferConstraintsTest, EachPredicateOnATextAttributeAsMesosEvaluatesIt) {
  v1::AgentInfo ssd = agent("a1");
  addText(ssd, "disk", "ssd");
  v1::AgentInfo hdd = agent("a2");
  addText(hdd, "disk", "hdd");
  v1::AgentInfo none = agent("a3");

  auto excluded = [&](const std::string& predicate, const v1::AgentInfo& a) {
    return filter(one("attribute_name: 'disk'", predicate)).excludes("r", a);
  };
  EXPECT_FALSE(excluded("exists {}", ssd));
  EXPECT_TRUE(excluded("exists {}", none));
  EXPECT_TRUE(excluded("not_exists {}", ssd));
  EXPECT_FALSE(excluded("not_exists {}", none));
  EXPECT_FALSE(excluded("text_equals { value: 'ssd' }", ssd));
  EXPECT_TRUE(excluded("text_equals { value: 'ssd' }", hdd));
  EXPECT_TRUE(excluded("text_equals { value: 'ssd' }", none));
  EXPECT_TRUE(excluded("text_not_equals { value: 'ssd' }", ssd));
  EXPECT_FALSE(excluded("text_not_equals { value: 'ssd' }", hdd));
  EXPECT_FALSE(excluded("text_not_equals { value: 'ssd' }", none));
  EXPECT_FALSE(excluded("text_matches { regex: 's.d' }", ssd));
  EXPECT_TRUE(excluded("text_matches { regex: 's' }", ssd));  // the whole value must match
  EXPECT_TRUE(excluded("text_matches { regex: '.*' }", none));
  EXPECT_TRUE(excluded("text_not_matches { regex: 's.d' }", ssd));
  EXPECT_FALSE(excluded("text_not_matches { regex: 's.d' }", hdd));
  EXPECT_FALSE(excluded("text_not_matches { regex: 's.d' }", none));
}

TEST(OfferConstraintsTest, TextPredicatesHoldForNonTextAttributes) {
  v1::AgentInfo numeric = agent("a1");
  addScalar(numeric, "rack", 7);
  for (const char* predicate : {"text_equals { value: 'x' }", "text_not_equals { value: 'x' }",
                                "text_matches { regex: 'x' }", "text_not_matches { regex: 'x' }"}) {
    EXPECT_FALSE(filter(one("attribute_name: 'rack'", predicate)).excludes("r", numeric)) << predicate;
  }
  EXPECT_TRUE(filter(one("attribute_name: 'rack'", "not_exists {}")).excludes("r", numeric));
}

TEST(OfferConstraintsTest, PseudoattributesAreTheHostnameAndTheFaultDomain) {
  v1::AgentInfo east = agent("node-1.east");
  setDomain(east, "us-east", "us-east-1a");
  v1::AgentInfo plain = agent("node-2");

  EXPECT_FALSE(filter(one("pseudoattribute_type: HOSTNAME", "text_matches { regex: 'node-[0-9]+\\\\.east' }"))
                   .excludes("r", east));
  EXPECT_TRUE(
      filter(one("pseudoattribute_type: HOSTNAME", "text_equals { value: 'node-1.east' }")).excludes("r", plain));
  EXPECT_FALSE(filter(one("pseudoattribute_type: REGION", "text_equals { value: 'us-east' }")).excludes("r", east));
  EXPECT_FALSE(filter(one("pseudoattribute_type: ZONE", "text_equals { value: 'us-east-1a' }")).excludes("r", east));
  EXPECT_TRUE(filter(one("pseudoattribute_type: ZONE", "text_equals { value: 'us-east-1b' }")).excludes("r", east));
  // Without a fault domain there is no region or zone.
  EXPECT_TRUE(filter(one("pseudoattribute_type: REGION", "exists {}")).excludes("r", plain));
  EXPECT_FALSE(filter(one("pseudoattribute_type: ZONE", "not_exists {}")).excludes("r", plain));
}

TEST(OfferConstraintsTest, GroupsAreOredAndConstraintsWithinAGroupAnded) {
  OfferConstraintsFilter f = filter(R"(
    role_constraints { key: 'r' value {
      groups {
        attribute_constraints { selector { attribute_name: 'disk' } predicate { text_equals { value: 'ssd' } } }
        attribute_constraints { selector { attribute_name: 'gpu' } predicate { exists {} } }
      }
      groups {
        attribute_constraints { selector { pseudoattribute_type: HOSTNAME } predicate { text_equals { value: 'special' } } }
      }
    } })");
  v1::AgentInfo both = agent("a");
  addText(both, "disk", "ssd");
  addText(both, "gpu", "yes");
  v1::AgentInfo ssdOnly = agent("b");
  addText(ssdOnly, "disk", "ssd");
  v1::AgentInfo special = agent("special");
  EXPECT_FALSE(f.excludes("r", both));
  EXPECT_TRUE(f.excludes("r", ssdOnly));
  EXPECT_FALSE(f.excludes("r", special));
  // Roles without constraints take every agent.
  EXPECT_FALSE(f.excludes("other", ssdOnly));
}

TEST(OfferConstraintsTest, InvalidConstraintsAreRefusedNamingRoleAndConstraint) {
  auto error = [](const std::string& text, std::vector<std::string> roles = {"r"}) {
    auto f = OfferConstraintsFilter::create(constraints(text), roles);
    return f.ok() ? std::string("accepted") : f.error().message;
  };
  EXPECT_EQ(error("role_constraints { key: 'r' value {} }"),
            "Invalid offer constraints for role 'r': 'groups' is empty");
  EXPECT_EQ(error("role_constraints { key: 'r' value { groups {} } }"),
            "Invalid offer constraints for role 'r': group 0 has no 'attribute_constraints'");
  EXPECT_EQ(error(one("attribute_name: 'x'", "exists {}"), {"other"}),
            "Offer constraints are given for role 'r', which the framework is not subscribed to");
  EXPECT_EQ(
      error("role_constraints { key: 'r' value { groups { attribute_constraints { predicate { exists {} } } } } }"),
      "Invalid offer constraints for role 'r': group 0, constraint 0: exactly one of 'selector.attribute_name' "
      "and 'selector.pseudoattribute_type' must be set");
  EXPECT_EQ(error(one("pseudoattribute_type: UNKNOWN", "exists {}")),
            "Invalid offer constraints for role 'r': group 0, constraint 0: unknown pseudoattribute type");
  EXPECT_EQ(error("role_constraints { key: 'r' value { groups { attribute_constraints { selector { attribute_name: "
                  "'x' } } } } }"),
            "Invalid offer constraints for role 'r': group 0, constraint 0: 'predicate' is not set");
  EXPECT_NE(error(one("attribute_name: 'x'", "text_matches { regex: '(' }")).find("Failed to construct regex"),
            std::string::npos);
}

TEST(OfferConstraintsTest, RegexSyntaxThatRe2ReadsDifferentlyIsRefused) {
  for (const char* pattern : {"(?i)abc", "(?P<n>a)", "a(?=b)", "(a)\\1", "\\pL", "\\Qa.b\\E", "\\Aabc\\z"}) {
    auto regex = compileConstraintRegex(pattern);
    EXPECT_FALSE(regex.ok()) << pattern;
  }
  for (const char* pattern : {"(?:ab)+", "[(?]x", "a\\.b", "[0-9]{2,3}", "x|y", "[\\]1]"}) {
    auto regex = compileConstraintRegex(pattern);
    EXPECT_TRUE(regex.ok()) << pattern << ": " << regex.error().message;
  }
  EXPECT_FALSE(compileConstraintRegex(std::string(5000, 'a')).ok());
}

}  // namespace
}  // namespace mantle::master
