@network @shared_cluster @dedicated_cluster @check_network_010
Feature: A tenant exposes its services only in the ways its plan allows
  As a provider
  I want each plan to say which Service types its tenants may create (ClusterIP always; NodePort, LoadBalancer and ExternalName by plan)
  So that a tenant on a plan without them cannot open a node port, claim a load balancer or alias an outside name

  Scenario: Every tenant admin asks for a Service of every type, and gets exactly its plan's
    Given the provisioned tenancy of the product under test
    When every tenant's admin asks for a Service of every type in its namespace
    Then the API server creates exactly the Service types each tenant's plan allows
