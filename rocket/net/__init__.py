"""rocket/net"""
