"""One host's Jupyter session: bring it up, take it down, report on it, for a
workstation or a Slurm cluster, over a tunnel whose owner is proven before the token goes out."""
