// caas-oidc, the lab's own minimal OIDC issuer (the subset of Dex the suite needs), standard library only.
module caas-conformance.local/lab/oidc

go 1.26.0
