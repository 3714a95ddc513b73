"""Message contracts shared by every PyK8s-Lab component. Pure data, no I/O."""
