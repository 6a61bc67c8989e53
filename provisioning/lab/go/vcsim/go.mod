// vcsim, VMware's vCenter simulator, for the vSphere adapter's tests, built from the govmomi module.
module caas-conformance.local/lab/vcsim

go 1.26.0

require github.com/vmware/govmomi v0.52.0

require github.com/google/uuid v1.6.0 // indirect
