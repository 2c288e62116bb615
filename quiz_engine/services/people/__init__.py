"""People: accounts and registration, passwords, personal data, public names, audit, oversight, signs of shared
accounts.
"""
