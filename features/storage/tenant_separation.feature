@storage @shared_cluster @check_storage_003 @needs_two_tenants_on_a_cluster
Feature: A tenant's volumes are out of other tenants' reach
  As a customer of a shared cluster
  I want no other tenant to mount, bind, read or redirect my claims and volumes
  So that my stored data is as private as my pods

  Scenario: Another tenant cannot mount or bind a tenant's claim or volume, nor reach host storage
    Given the provisioned tenancy of the product under test
    And a tenant on a shared cluster whose pod wrote a secret token to its claimed volume
    When another tenant on that cluster tries to use the volume with its own credentials
    Then the observed access is exactly:
      | subject        | action                                       | access           |
      | the owner      | mounts its claim in a new pod                | allowed          |
      | another tenant | runs a pod with an empty-dir volume          | allowed          |
      | the operator   | creates a host path volume as the operator   | allowed          |
      | another tenant | mounts a claim of that name in its namespace | denied           |
      | another tenant | binds a claim of its own to that volume      | denied           |
      | another tenant | reads that claim                             | denied           |
      | another tenant | points that volume at its own claim          | denied           |
      | another tenant | creates a host path volume                   | denied           |
      | another tenant | runs a pod with a host path volume           | as its plan says |
