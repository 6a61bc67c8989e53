@storage @shared_cluster @check_storage_004
Feature: A deleted claim's data is gone for good
  As a customer of a shared cluster
  I want my volume and its data removed when I delete my claim
  So that no later customer ever receives my data

  Scenario: After a claim is deleted its volume goes per the reclaim policy
    Given the provisioned tenancy of the product under test
    And a tenant on a shared cluster whose pod wrote a secret token to its claimed volume
    When the tenant deletes its pods and its claim
    Then the volume is removed as its reclaim policy says within the volume deadline
