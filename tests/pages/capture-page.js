// The page's own behaviour: forms are sent with fetch (preventDefault), as many sites do.
window.submitted = [];
for (const f of document.querySelectorAll('form')) {
  f.addEventListener('submit', (e) => { e.preventDefault(); window.submitted.push(f.id); });
}
// The outbound link's href is made absolute to another origin (localhost vs 127.0.0.1).
document.getElementById('out').href = 'http://localhost:' + location.port + '/out.html';
// A single-page router.
window.route = (path) => history.pushState({}, '', path);
// A list that grows when the reader reaches the end.
window.grow = () => { const d = document.createElement('div'); d.style.height = '3000px'; document.body.appendChild(d); };
