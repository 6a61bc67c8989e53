@rbac @shared_cluster @check_rbac_011 @needs_two_tenants_on_a_cluster
Feature: Outside the resource API, tenants and strangers get only what the product documents
  As a platform operator
  I want the API server's metrics, logs, debug handlers and configuration closed to my customers, and everything but the documented public paths closed to requests without credentials
  So that nobody reads the control plane's internals or the cluster's objects without being one of my users with a right to them

  Scenario: Non-resource paths as tenants, and paths and resources without credentials
    Given the provisioned tenancy of the product under test
    When every tenant identity on a shared cluster, and a client without credentials, asks for the API server's metrics, logs, debug handlers, configuration, version and health, and without credentials for secrets, namespaces and pods
    Then only what the product documents answers: tenants read no metrics, logs, debug handlers or configuration, and a request without credentials gets nothing but the documented public paths, the ways agreeing
