"""The question catalogue: banks and their versions, the bank file formats read and written, uploads awaiting
confirmation.
"""
