print("siphon")
