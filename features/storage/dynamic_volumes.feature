@storage @shared_cluster @check_storage_001
Feature: Tenants get volumes on demand
  As a customer of a shared cluster
  I want a volume whenever I claim one, without asking the platform team
  So that my stateful workloads start as soon as I deploy them

  Scenario: A claim without a storage class is provisioned from the default class and bound in time
    Given the provisioned tenancy of the product under test
    When every tenant on a shared cluster claims a volume without naming a storage class
    Then the cluster offers exactly one default storage class
    And every claim is bound to a new volume of the default class within the volume deadline
