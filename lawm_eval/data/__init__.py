"""Datasets: readers for the formats users have (LeRobot, LIBERO hdf5, NWM's RECON layout) and
generators that write those formats from our own simulators."""
