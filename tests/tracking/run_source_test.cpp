// separate_containers: the structural rule that keeps parent runs out of the gates.
#include <gtest/gtest.h>

#include "experiment/run_contract.h"
#include "tracking/run_source.h"

namespace wmtp::tracking {
namespace {

RunRecord run(const std::string& name, const std::string& local_id, const std::string& mlflow_id,
              std::map<std::string, std::string> tags = {}) {
  RunRecord r;
  r.name = name;
  r.local_id = local_id;
  r.mlflow_run_id = mlflow_id;
  r.tags = std::move(tags);
  return r;
}

std::vector<std::string> names(const std::vector<RunRecord>& runs) {
  std::vector<std::string> out;
  for (const RunRecord& r : runs) out.push_back(r.name);
  return out;
}

TEST(SeparateContainers, ARunNamedAsParentByMlflowIdIsAContainerWhateverItsTags) {
  RunSet set;
  set.runs = {run("python-parent", "", "p1"), run("child-a", "", "c1", {{contract::tag::kParentRunId, "p1"}}),
              run("child-b", "", "c2", {{contract::tag::kParentRunId, "p1"}}), run("flat", "", "f1")};
  separate_containers(set);
  EXPECT_EQ(names(set.runs), (std::vector<std::string>{"child-a", "child-b", "flat"}));
  EXPECT_EQ(names(set.containers), (std::vector<std::string>{"python-parent"}));
}

TEST(SeparateContainers, ARunNamedAsParentByLocalIdIsAContainerInALedger) {
  RunSet set;  // a ledger: no MLflow ids at all
  set.runs = {run("smoke", "L0", ""), run("A3-household-01-42", "L1", "", {{contract::tag::kParentLocalRunId, "L0"}})};
  separate_containers(set);
  EXPECT_EQ(names(set.runs), (std::vector<std::string>{"A3-household-01-42"}));
  EXPECT_EQ(names(set.containers), (std::vector<std::string>{"smoke"}));
}

TEST(SeparateContainers, APlanRunWithoutChildrenIsStillAContainer) {
  RunSet set;
  set.runs = {run("smoke shard 2-of-2", "L9", "m9", {{contract::tag::kRunRole, contract::tag::kRunRolePlan}}),
              run("other-role", "L8", "m8", {{contract::tag::kRunRole, "training"}})};
  separate_containers(set);
  EXPECT_EQ(names(set.runs), (std::vector<std::string>{"other-role"}));
  EXPECT_EQ(names(set.containers), (std::vector<std::string>{"smoke shard 2-of-2"}));
}

TEST(SeparateContainers, EmptyParentTagsAndUnknownParentsChangeNothing) {
  RunSet set;
  set.runs = {run("a", "", "", {{contract::tag::kParentRunId, ""}, {contract::tag::kParentLocalRunId, ""}}),
              run("b", "", "", {{contract::tag::kParentRunId, "gone"}})};
  separate_containers(set);  // a run without ids is never taken for the parent "" names
  EXPECT_EQ(names(set.runs), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(set.containers.empty());
}

}  // namespace
}  // namespace wmtp::tracking
