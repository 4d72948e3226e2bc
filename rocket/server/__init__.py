"""rocket/server"""
