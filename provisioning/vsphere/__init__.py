"""The vSphere adapter: the only package that imports pyVmomi.

It answers, for a volume on a vSphere target, where its first-class disk (FCD)
lives and whether it is gone; every request carries a socket timeout and every
wait polls with a deadline.
"""
