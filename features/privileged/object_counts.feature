@privileged @shared_cluster @dedicated_cluster @check_privileged_007 @needs_plan_object_counts
Feature: A tenant cannot exceed its plan's object counts
  As a platform operator selling plans as t-shirt sizes
  I want each tenant held to the number of config maps, secrets and services its plan allows
  So that no customer fills the cluster's object store at the expense of the others

  Scenario: One object past each count the plan promises is refused by the quota
    Given the provisioned tenancy of the product under test
    When each tenant admin fills every object count its plan promises and asks for one more
    Then each count admits its last object and refuses the one past it
