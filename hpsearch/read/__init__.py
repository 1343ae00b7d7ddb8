"""Reading studies back: pandas frames of trials and epochs, lineage, parameter importance and each study's status,
all through the store's public reads.
"""
