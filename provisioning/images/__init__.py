"""The suite's container images as users ship images: OCI images with digests, copied into the user's
registry (`caas images push`) or written as an OCI layout for air-gapped sites (`caas images save`), and
referenced by digest from that registry by every pod the suite creates (`refs.resolve`)."""
