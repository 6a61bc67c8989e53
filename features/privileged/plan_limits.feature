@privileged @shared_cluster @dedicated_cluster @check_privileged_005 @needs_plan_limits
Feature: A tenant's plan limits hold
  As a platform operator selling plans as t-shirt sizes
  I want each tenant held to its plan's quota and given its plan's default requests and limits
  So that no customer takes more of a cluster than it pays for

  Scenario: Quota and defaults are the plan's, a request above quota is rejected, the pod count holds
    Given the provisioned tenancy of the product under test
    When each tenant admin meets its plan's limits
    Then every tenant's limits are exactly its plan's
