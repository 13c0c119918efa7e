"""Versioned protocol files (YAML), installed as package data of occbench.protocols.

See protocols/README.md for the format. Files under folders starting with "_" are fragments for include:.
"""
