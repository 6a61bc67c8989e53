@storage @shared_cluster @check_storage_002
Feature: A tenant's data outlives its pods
  As a customer of a shared cluster
  I want what my pod wrote to a volume to be there for the next pod
  So that restarting or rescheduling a workload never loses my data

  Scenario: Data written by a deleted pod is read back by a new pod on the same claim
    Given the provisioned tenancy of the product under test
    And a tenant on a shared cluster whose pod wrote a secret token to its claimed volume
    When that pod is deleted and a new pod of the tenant mounts the same claim
    Then the new pod reads the same token
